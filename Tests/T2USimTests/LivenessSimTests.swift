// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import T2USim
import Testing

@testable import T2UCore

/// The dead-peer rule: a vanished peer is noticed within about `deadPeerTimeout`; a live peer
/// on a very lossy path is not declared dead.
@Suite struct LivenessSimTests {
    static func lossy(_ loss: Double) -> LinkConditions {
        var link = LinkConditions()
        link.delay = .milliseconds(25)
        link.lossRate = loss
        link.bandwidthBitsPerSecond = 10_000_000
        return link
    }

    /// 30% loss both ways: a transfer, then 20 minutes of virtual time idle with keepalives
    /// (each lost PING or ACK must be rescued by probes before the dead-peer timeout; without
    /// the probe-interval cap, PTO backoff leaves too few chances): neither side closes.
    @Test(arguments: [UInt64(71), 72, 73, 74, 75, 76], [Int64(25), 150])
    func thirtyPercentLossNeverCloses(seed: UInt64, delayMillis: Int64) {
        var link = Self.lossy(0.3)
        link.delay = .milliseconds(delayMillis)
        link.jitter = .milliseconds(delayMillis / 5)
        let scenario = TransferScenario(seed: seed, streams: 2, bytesPerStream: 64 * 1024, link: link)
        scenario.network.run(until: scenario.network.now + .seconds(1200)) {
            scenario.client.closeReason == nil && scenario.device.closeReason == nil
        }
        #expect(
            scenario.client.closeReason == nil,
            "seed \(seed): client closed: \(String(describing: scenario.client.closeReason))")
        #expect(
            scenario.device.closeReason == nil,
            "seed \(seed): device closed: \(String(describing: scenario.device.closeReason))")
        #expect(scenario.client.allStreamsReceived && scenario.device.allStreamsReceived, "seed \(seed)")
        #expect(scenario.mismatchedStreams.isEmpty)
    }

    /// The device vanishes mid-transfer: the client closes with `.peerUnreachable` about
    /// `deadPeerTimeout` later (not the 60 s idle timeout).
    @Test(arguments: [UInt64(77), 78])
    func vanishedPeerIsDetected(seed: UInt64) throws {
        let scenario = TransferScenario(seed: seed, streams: 3, bytesPerStream: 4_000_000, link: Self.lossy(0.01))
        scenario.network.run(until: scenario.network.now + .seconds(1))
        #expect(scenario.client.closeReason == nil)
        var dark = Self.lossy(0)
        dark.lossRate = 1
        scenario.network.setLinks(between: TransferScenario.clientAddress, and: TransferScenario.deviceAddress, dark)
        let vanishedAt = scenario.network.now
        scenario.network.run(until: scenario.network.now + .seconds(30)) { scenario.client.closeReason == nil }
        let took = scenario.network.now - vanishedAt
        #expect(
            scenario.client.closeReason == .peerUnreachable,
            "seed \(seed): \(String(describing: scenario.client.closeReason))")
        let timeout = TransportConfig().deadPeerTimeout
        #expect(took >= timeout && took <= timeout + .seconds(2), "seed \(seed): detected after \(took)")
        #expect(ConnectionCloseReason.peerUnreachable.description.contains("unreachable"))
    }
}
