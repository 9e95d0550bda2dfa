// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import T2USim
import Testing

@testable import T2UCore

@Suite struct KeyUpdateSimTests {
    /// Frequent key updates, each after a KEY_UPDATE exchange (fresh X25519), on a lossy and
    /// reordering link in both directions: every stream arrives intact and every update mixed
    /// a new shared secret.
    @Test(arguments: [UInt64(71), 72])
    func everyKeyUpdateMixesAFreshDH(seed: UInt64) throws {
        var config = TransportConfig()
        config.keyUpdatePackets = 200
        var link = LinkConditions()
        link.delay = .milliseconds(10)
        link.lossRate = 0.02
        link.reorderRate = 0.02
        link.reorderDelay = .milliseconds(5)
        link.bandwidthBitsPerSecond = 40_000_000
        let scenario = TransferScenario(seed: seed, config: config, streams: 3, bytesPerStream: 600 * 1024, link: link)
        #expect(scenario.runTransfer(limit: .seconds(60)), "seed \(seed): transfer did not complete")
        #expect(scenario.mismatchedStreams.isEmpty, "seed \(seed)")
        let client = try #require(scenario.client.connection)
        let device = try #require(scenario.device.connection)
        print(
            "key updates with fresh DH (seed \(seed)): client \(client.stats.keyUpdates) updates, "
                + "\(client.keyExchangesCompleted) exchanges; device \(device.stats.keyUpdates) updates, \(device.keyExchangesCompleted) exchanges"
        )
        #expect(client.stats.keyUpdates >= 5)
        // Only the initiator flips, and only after an exchange; the device followed each flip.
        #expect(client.stats.keyUpdates <= client.keyExchangesCompleted)
        #expect(client.keyExchangesCompleted <= device.keyExchangesCompleted)
        #expect(device.stats.keyUpdates >= client.stats.keyUpdates - 1)
    }
}
