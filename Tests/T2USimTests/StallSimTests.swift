// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import T2USim
import Testing

@testable import T2UCore

/// A long bulk transfer on a long lossy path (160 ms RTT, 5 % random loss each way, as the delay
/// lab's `rtt160-loss5`) must never stall: it may go slowly, but every few round trips some
/// stream bytes arrive, until the transfer completes.
@Suite struct StallSimTests {
    static let rtt: Nanos = .milliseconds(160)

    /// Runs one transfer; returns whether it completed and the longest virtual time without delivery.
    static func longestGap(
        seed: UInt64, cc: CongestionControlKind, loss: Double, reorder: Bool, bytes: Int,
        rate: Double?, limit: Nanos
    ) -> (done: Bool, gap: Nanos, received: Int, elapsed: Nanos) {
        var link = LinkConditions()
        link.delay = .milliseconds(80)
        link.lossRate = loss
        if reorder {
            link.jitter = .milliseconds(2)
            link.reorderRate = 0.02
            link.reorderDelay = .milliseconds(10)
            link.duplicateRate = 0.01
        }
        if let rate {
            link.bandwidthBitsPerSecond = rate
            link.queueLimitBytes = Int(rate / 8 * rtt.seconds)  // one bandwidth-delay product
        }
        var config = TransportConfig()
        config.congestionControl = cc
        let scenario = TransferScenario(
            seed: seed, config: config, streams: 1, bytesPerStream: bytes,
            deviceBytesPerStream: 0, link: link)
        let network = scenario.network
        let start = network.now
        var lastBytes = 0
        var lastProgress = start
        var gap: Nanos = .zero
        let step: Nanos = .milliseconds(100)
        while !(scenario.device.allStreamsReceived && scenario.client.allStreamsReceived), network.now - start < limit {
            network.run(until: network.now + step)
            let bytes = scenario.device.streamBytesReceived
            if bytes > lastBytes || scenario.device.allStreamsReceived {
                lastBytes = bytes
                lastProgress = network.now
            }
            gap = max(gap, network.now - lastProgress)
        }
        let done = scenario.device.allStreamsReceived && scenario.client.allStreamsReceived
        return (done, gap, scenario.device.streamBytesReceived, network.now - start)
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var seed: UInt64
        var reorder: Bool
        var rate: Double?
        var testDescription: String {
            "seed \(seed) \(rate.map { "\(Int($0 / 1e6)) Mbit/s" } ?? "unlimited") reorder \(reorder)"
        }
    }

    /// The default (BBR-like) controller completes a transfer larger than what the lab moved
    /// before stalling (~17 MB) and runs past its 10 s min-RTT expiry (ProbeRTT).
    @Test(arguments: [
        Case(seed: 1, reorder: false, rate: nil),
        Case(seed: 2, reorder: true, rate: nil),
        Case(seed: 3, reorder: true, rate: 50_000_000),
    ])
    func longLossyTransferNeverStalls(_ c: Case) {
        let r = Self.longestGap(
            seed: c.seed, cc: .bbr, loss: 0.05, reorder: c.reorder, bytes: 20_000_000,
            rate: c.rate, limit: .seconds(60))
        print(
            "STALL \(c.testDescription): done=\(r.done) received=\(r.received) elapsed=\(r.elapsed) longestGap=\(r.gap)"
        )
        #expect(r.done, "\(c.testDescription): transfer incomplete after \(r.elapsed): \(r.received) bytes")
        // 20 RTTs covers a few backed-off probe timeouts; a stall is unbounded.
        #expect(r.gap <= Self.rtt * 20, "\(c.testDescription): no delivery for \(r.gap)")
    }

    /// CUBIC backs off on random loss and goes slowly there (~0.35 Mbit/s), but keeps progressing.
    @Test func cubicKeepsProgressing() {
        let r = Self.longestGap(
            seed: 1, cc: .cubic, loss: 0.05, reorder: true, bytes: 20_000_000,
            rate: nil, limit: .seconds(30))
        print("STALL cubic seed 1: received=\(r.received) elapsed=\(r.elapsed) longestGap=\(r.gap)")
        #expect(r.received > 500_000, "cubic seed 1: only \(r.received) bytes in \(r.elapsed)")
        #expect(r.gap <= Self.rtt * 20, "cubic seed 1: no delivery for \(r.gap)")
    }
}
