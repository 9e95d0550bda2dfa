// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import T2USim
import Testing

@testable import T2UCore

/// Goodput on a 100 Mbit/s, 20 ms RTT simulated link: stream bytes delivered per second in the
/// steady state (after the first second), against the link rate.
@Suite struct GoodputSimTests {
    static let linkRate = 100_000_000.0

    struct Measurement: CustomStringConvertible {
        var cc: CongestionControlKind
        var loss: Double
        var goodputBitsPerSecond: Double
        var fractionOfLink: Double { goodputBitsPerSecond / GoodputSimTests.linkRate }
        var fractionOfLossAdjustedLink: Double { goodputBitsPerSecond / (GoodputSimTests.linkRate * (1 - loss)) }
        var description: String {
            let mbit = (goodputBitsPerSecond / 1e6 * 10).rounded() / 10
            let share = (fractionOfLossAdjustedLink * 1000).rounded() / 10
            return "cc=\(cc.rawValue) loss=\(Int(loss * 100))% goodput=\(mbit) Mbit/s (\(share)% of (1-p) x link)"
        }
    }

    static func measure(cc: CongestionControlKind, loss: Double, seed: UInt64) -> Measurement {
        var link = LinkConditions()
        link.delay = .milliseconds(10)
        link.lossRate = loss
        link.bandwidthBitsPerSecond = linkRate
        link.queueLimitBytes = 250_000  // one bandwidth-delay product
        var config = TransportConfig()
        config.congestionControl = cc
        config.maxDatagramSize = 1472
        let scenario = TransferScenario(
            seed: seed, config: config, streams: 1, bytesPerStream: 200_000_000,
            deviceBytesPerStream: 0, link: link)
        let network = scenario.network
        let warmup = network.now + .seconds(1)
        network.run(until: warmup)
        let bytesAtWarmup = scenario.device.streamBytesReceived
        let window: Nanos = .seconds(6)
        network.run(until: warmup + window)
        let bytes = scenario.device.streamBytesReceived - bytesAtWarmup
        return Measurement(cc: cc, loss: loss, goodputBitsPerSecond: Double(bytes * 8) / window.seconds)
    }

    @Test func fillsTheLinkWithoutLoss() {
        for cc in CongestionControlKind.allCases {
            let m = Self.measure(cc: cc, loss: 0, seed: 100)
            print("GOODPUT \(m)")
            #expect(m.fractionOfLink >= 0.90, "seed 100: \(m)")
        }
    }

    /// The loss-tolerant mode keeps >= 90/85/75% of (1-p) x link at 1/5/10% random loss; CUBIC's
    /// figures are printed beside it.
    @Test(arguments: [(0.01, 0.90), (0.05, 0.85), (0.10, 0.75)])
    func lossTolerantModeHoldsThroughput(loss: Double, required: Double) {
        let bbr = Self.measure(cc: .bbr, loss: loss, seed: 200)
        let cubic = Self.measure(cc: .cubic, loss: loss, seed: 200)
        print("GOODPUT \(bbr)")
        print("GOODPUT \(cubic)")
        #expect(bbr.fractionOfLossAdjustedLink >= required, "seed 200: \(bbr)")
    }
}
