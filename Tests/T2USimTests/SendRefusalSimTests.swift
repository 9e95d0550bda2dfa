// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import T2UCore
import T2USim
import Testing

/// Issue 10, item 1 in the simulator: a socket that refuses sends (the kernel's ENETUNREACH,
/// EPERM, ENOBUFS ...) costs those datagrams only; the connection recovers them like loss.
@Suite struct SendRefusalSimTests {
    @Test(arguments: [UInt64(61), 62, 63])
    func refusedSendsAtHandshakeAndDataStillComplete(seed: UInt64) throws {
        var link = LinkConditions()
        link.delay = .milliseconds(20)
        let scenario = TransferScenario(seed: seed, streams: 2, bytesPerStream: 300_000, link: link)
        var fromClient = 0
        var fromDevice = 0
        scenario.network.refuseSend = { from, _ in
            // The first two from each side (handshake), then one in five (data, acks).
            if from == TransferScenario.clientAddress {
                fromClient += 1
                return fromClient <= 2 || fromClient % 5 == 0
            }
            fromDevice += 1
            return fromDevice <= 2 || fromDevice % 5 == 0
        }
        #expect(scenario.runTransfer(limit: .seconds(60)))
        #expect(scenario.mismatchedStreams.isEmpty)
        #expect(scenario.network.stats.datagramsRefused > 10)
    }
}
