// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import T2USim
import Testing

@testable import T2UCore

/// Many concurrent streams, both directions, over links with loss, reordering and duplication:
/// every byte arrives exactly once and in order per stream (SHA-256 end to end).
@Suite struct StreamIntegrityTests {
    static let lossRates: [Double] = [0, 0.01, 0.05, 0.10, 0.30]

    @Test(arguments: lossRates)
    func everyStreamArrivesIntact(loss: Double) {
        for seed: UInt64 in [1, 2, 3] {
            var link = LinkConditions()
            link.delay = .milliseconds(10)
            link.jitter = .milliseconds(2)
            link.lossRate = loss
            link.reorderRate = 0.05
            link.reorderDelay = .milliseconds(5)
            link.duplicateRate = 0.02
            link.bandwidthBitsPerSecond = 50_000_000
            link.queueLimitBytes = 256 * 1024
            for cc in CongestionControlKind.allCases {
                var config = TransportConfig()
                config.congestionControl = cc
                let scenario = TransferScenario(
                    seed: seed, config: config, streams: 12, bytesPerStream: 96 * 1024, link: link)
                let done = scenario.runTransfer(limit: .seconds(300))
                #expect(
                    done,
                    "seed \(seed) loss \(loss) cc \(cc): transfer incomplete (client got \(scenario.client.streamBytesReceived), device got \(scenario.device.streamBytesReceived))"
                )
                #expect(
                    scenario.mismatchedStreams.isEmpty,
                    "seed \(seed) loss \(loss) cc \(cc): corrupted streams \(scenario.mismatchedStreams)")
                #expect(
                    scenario.client.sentDigests.count == 12 && scenario.device.sentDigests.count == 12,
                    "seed \(seed) loss \(loss) cc \(cc): not all streams finished sending")
            }
        }
    }
}
