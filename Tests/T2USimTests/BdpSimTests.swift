// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import T2USim
import Testing

@testable import T2UCore

/// Issue 11 item 1: one stream through a long fat simulated path (BDP-sized bottleneck queue,
/// loss both ways) reaches a fraction of the link set by the congestion controller, not by a
/// flow-control or send-buffer constant. Goodput is measured over a window after slow start.
/// Serialized: the 1 Gbit/s cases keep a thread busy for seconds each, and run side by side
/// they would hold every thread of Swift's cooperative pool (two on this machine), starving the
/// async tests of other suites past their timeouts.
@Suite(.serialized) struct BdpSimTests {
    struct Condition: CustomStringConvertible, Sendable {
        var rateMbit: Double
        var rttMs: Double
        var loss: Double
        /// Goodput / (link x (1 - loss)) the test requires.
        var required: Double
        /// Seeds of the loss pattern; the mean over them is asserted. Several where one hole
        /// repaired late decides the figure (1 Gbit/s over long lossy paths): single seeds of
        /// one code range from 0.2 to 0.6 there, and any change of timing moves them.
        var seeds: [UInt64] = [11]
        var description: String { "\(Int(rateMbit)) Mbit/s, RTT \(Int(rttMs)) ms, loss \(Int(loss * 100))%" }
    }

    struct Measurement: CustomStringConvertible {
        var condition: Condition
        var goodputBitsPerSecond: Double
        var fractionOfLink: Double { goodputBitsPerSecond / (condition.rateMbit * 1e6) }
        var fractionOfLossAdjustedLink: Double { fractionOfLink / (1 - condition.loss) }
        var share: Double { (fractionOfLossAdjustedLink * 1000).rounded() / 1000 }
        var description: String {
            let mbit = (goodputBitsPerSecond / 1e5).rounded() / 10
            return "BDP \(condition): \(mbit) Mbit/s, \(share) of (1-p) x link"
        }
    }

    static func measure(_ condition: Condition, seed: UInt64 = 11) -> Measurement {
        let clientAddress = NetAddress(ipv4: (198, 51, 100, 10), port: 40000)
        let deviceAddress = NetAddress(ipv4: (203, 0, 113, 20), port: 50000)
        let network = SimulatedNetwork(seed: seed)
        let clientEntropy = SeededEntropy(seed: seed &+ 1)
        let deviceEntropy = SeededEntropy(seed: seed &+ 2)
        let deviceIdentity = StaticIdentity.generate(deviceEntropy)
        var config = TransportConfig()
        config.maxDatagramSize = 1472
        let client = BulkHost(
            address: clientAddress,
            endpoint: TransportEndpoint(
                options: .init(config: config, identity: .generate(clientEntropy), acceptIncoming: false),
                entropy: clientEntropy),
            isSender: true)
        let device = BulkHost(
            address: deviceAddress,
            endpoint: TransportEndpoint(
                options: .init(config: config, identity: deviceIdentity, acceptIncoming: true), entropy: deviceEntropy),
            isSender: false)
        network.add(client)
        network.add(device)
        network.setLinks(
            between: clientAddress, and: deviceAddress,
            .wan(rateMbit: condition.rateMbit, rttMs: condition.rttMs, loss: condition.loss))
        client.connect(to: deviceAddress, key: deviceIdentity.publicKey, now: network.now)
        // Slow start doubles per RTT from ~10 packets: about log2(BDP / 15 kB) RTTs, then some.
        let rtt = Nanos(Int64(condition.rttMs * 1e6))
        let warmup = max(.seconds(1), rtt * 30)
        let window = max(.seconds(1), rtt * 10)
        network.run(until: network.now + warmup)
        let before = device.bytesReceived
        network.run(until: network.now + window)
        let bytes = device.bytesReceived - before
        return Measurement(condition: condition, goodputBitsPerSecond: Double(bytes * 8) / window.seconds)
    }

    /// 100 Mbit/s at every RTT and loss, and 1 Gbit/s on long paths. Floors: the figures
    /// measured (seed 11, or the mean of three seeds; deterministic) with margin, after 30 round
    /// trips (long lossy paths leave startup late: the receive windows grow behind the holes). At
    /// 1 Gbit/s, 160 and 300 ms with loss the stream window binds at its 64 MiB maximum: the
    /// data behind one hole fills it while the repair, itself lost, takes round trips more.
    static let conditions: [Condition] = [
        Condition(rateMbit: 100, rttMs: 10, loss: 0, required: 0.85),  // measured 0.988
        Condition(rateMbit: 100, rttMs: 10, loss: 0.01, required: 0.85),  // 0.985
        Condition(rateMbit: 100, rttMs: 10, loss: 0.05, required: 0.85),  // 0.987
        Condition(rateMbit: 100, rttMs: 40, loss: 0, required: 0.85),  // 0.954
        Condition(rateMbit: 100, rttMs: 40, loss: 0.01, required: 0.85),  // 0.985
        Condition(rateMbit: 100, rttMs: 40, loss: 0.05, required: 0.85),  // 0.956
        Condition(rateMbit: 100, rttMs: 160, loss: 0, required: 0.85),  // 0.972
        Condition(rateMbit: 100, rttMs: 160, loss: 0.01, required: 0.85),  // 0.987
        Condition(rateMbit: 100, rttMs: 160, loss: 0.05, required: 0.8),  // 1.01
        Condition(rateMbit: 100, rttMs: 300, loss: 0, required: 0.85),  // 0.971
        Condition(rateMbit: 100, rttMs: 300, loss: 0.01, required: 0.8),  // 0.975
        Condition(rateMbit: 100, rttMs: 300, loss: 0.05, required: 0.8),  // 1.04
        Condition(rateMbit: 1000, rttMs: 10, loss: 0, required: 0.85),  // 0.988
        Condition(rateMbit: 1000, rttMs: 10, loss: 0.01, required: 0.85),  // 0.982
        Condition(rateMbit: 1000, rttMs: 10, loss: 0.05, required: 0.85),  // 0.994
        Condition(rateMbit: 1000, rttMs: 40, loss: 0, required: 0.85),  // 0.971
        Condition(rateMbit: 1000, rttMs: 40, loss: 0.01, required: 0.8),  // 0.944
        Condition(rateMbit: 1000, rttMs: 40, loss: 0.05, required: 0.8),  // 0.986
        Condition(rateMbit: 1000, rttMs: 160, loss: 0, required: 0.85),  // 0.971
        // 0.636 (0.612, 0.618, 0.678)
        Condition(rateMbit: 1000, rttMs: 160, loss: 0.01, required: 0.5, seeds: [11, 12, 13]),
        // 0.516 (0.434, 0.586, 0.528)
        Condition(rateMbit: 1000, rttMs: 160, loss: 0.05, required: 0.4, seeds: [11, 12, 13]),
        Condition(rateMbit: 1000, rttMs: 300, loss: 0, required: 0.7),  // 0.862
        // 0.475 (0.452, 0.52, 0.452)
        Condition(rateMbit: 1000, rttMs: 300, loss: 0.01, required: 0.38, seeds: [11, 12, 13]),
        // 0.396 (0.395, 0.373, 0.42)
        Condition(rateMbit: 1000, rttMs: 300, loss: 0.05, required: 0.3, seeds: [11, 12, 13]),
    ]

    @Test(arguments: conditions)
    func reachesTheLink(_ condition: Condition) {
        let runs = condition.seeds.map { Self.measure(condition, seed: $0) }
        let mean = runs.map(\.goodputBitsPerSecond).reduce(0, +) / Double(runs.count)
        let m = Measurement(condition: condition, goodputBitsPerSecond: mean)
        print(m, runs.count > 1 ? "(mean of seeds \(condition.seeds): \(runs.map(\.share)))" : "")
        #expect(m.fractionOfLossAdjustedLink >= condition.required, "\(m)")
    }
}
