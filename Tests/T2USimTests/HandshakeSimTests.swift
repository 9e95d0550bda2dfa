// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import T2USim
import Testing

@testable import T2UCore

@Suite struct HandshakeSimTests {
    /// At 30% loss each way the handshake (with retransmission) still completes every time.
    @Test func completesFiftyOfFiftyAtThirtyPercentLoss() {
        var link = LinkConditions()
        link.delay = .milliseconds(20)
        link.lossRate = 0.30
        var completed = 0
        var failures: [UInt64] = []
        for seed: UInt64 in 1000..<1050 {
            let scenario = TransferScenario(seed: seed, streams: 1, bytesPerStream: 1000, link: link)
            scenario.runTransfer(limit: .seconds(30))
            if scenario.client.handshakeCompletedAt != nil && scenario.device.handshakeCompletedAt != nil
                && scenario.mismatchedStreams.isEmpty && scenario.client.allStreamsReceived
            {
                completed += 1
            } else {
                failures.append(seed)
            }
        }
        #expect(completed == 50, "handshake + first stream failed for seeds \(failures)")
    }

    @Test func wrongPasswordIsReportedAsSuch() {
        let scenario = TransferScenario(
            seed: 7, streams: 1, bytesPerStream: 1000, link: LinkConditions(),
            clientPassword: Array("guess".utf8), devicePassword: Array("secret".utf8))
        scenario.network.run(until: scenario.network.now + .seconds(5)) { scenario.client.closeReason == nil }
        #expect(scenario.client.closeReason == .passwordRejected)
        #expect(scenario.client.handshakeCompletedAt == nil)
        #expect(scenario.device.connection == nil, "a refused peer must not get a connection")
    }

    @Test func missingPasswordIsRejectedAndRightPasswordWorks() {
        let missing = TransferScenario(
            seed: 8, streams: 1, bytesPerStream: 1000, link: LinkConditions(),
            clientPassword: nil, devicePassword: Array("secret".utf8))
        missing.network.run(until: missing.network.now + .seconds(5)) { missing.client.closeReason == nil }
        #expect(missing.client.closeReason == .passwordRejected)

        let right = TransferScenario(
            seed: 9, streams: 2, bytesPerStream: 50_000, link: LinkConditions(),
            clientPassword: Array("secret".utf8), devicePassword: Array("secret".utf8))
        #expect(right.runTransfer(limit: .seconds(10)))
        #expect(right.mismatchedStreams.isEmpty)
    }

    @Test func unreachableDeviceTimesOut() {
        var link = LinkConditions()
        link.lossRate = 1.0
        var config = TransportConfig()
        config.handshakeTimeout = .seconds(3)
        let scenario = TransferScenario(seed: 11, config: config, streams: 1, bytesPerStream: 10, link: link)
        scenario.network.run(until: scenario.network.now + .seconds(10)) { scenario.client.closeReason == nil }
        #expect(scenario.client.closeReason == .handshakeTimeout)
    }
}
