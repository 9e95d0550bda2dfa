// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Testing

@testable import T2UCore

@Suite struct FlowControlTests {
    @Test func sendCreditShrinksWithNewBytesAndGrowsWithMaxData() {
        var flow = ConnectionFlowControl(initialLocalWindow: 1_000, maxLocalWindow: 1_000, initialPeerMaxData: 500)
        #expect(flow.sendCredit == 500)
        #expect(!flow.isSendBlocked)
        flow.onNewBytesSent(300)
        #expect(flow.sendCredit == 200)
        flow.onNewBytesSent(200)
        #expect(flow.sendCredit == 0)
        #expect(flow.isSendBlocked)
        flow.updatePeerMaxData(400)  // decrease: ignored
        #expect(flow.sendCredit == 0)
        flow.updatePeerMaxData(800)
        #expect(flow.sendCredit == 300)
        #expect(!flow.isSendBlocked)
    }

    @Test func receivingBeyondOurLimitIsAViolation() throws {
        var flow = ConnectionFlowControl(initialLocalWindow: 1_000, maxLocalWindow: 1_000, initialPeerMaxData: 0)
        #expect(flow.advertisedMaxData == 1_000)
        try flow.onBytesReceived(600)
        try flow.onBytesReceived(400)
        #expect(throws: StreamError.flowControlViolation(StreamID(rawValue: .max))) { try flow.onBytesReceived(1) }
        #expect(throws: StreamError.flowControlViolation(StreamID(rawValue: .max))) { try flow.onBytesReceived(.max) }
    }

    @Test func windowUpdateFollowsConsumptionAndAutotunes() throws {
        var flow = ConnectionFlowControl(initialLocalWindow: 1_000, maxLocalWindow: 4_000, initialPeerMaxData: 0)
        try flow.onBytesReceived(1_000)
        flow.onBytesConsumed(499)
        #expect(flow.takeWindowUpdate(now: .zero, smoothedRtt: .milliseconds(10)) == nil)
        flow.onBytesConsumed(1)
        #expect(flow.takeWindowUpdate(now: .zero, smoothedRtt: .milliseconds(10)) == 1_500)
        // Next half window consumed within 2 RTTs: the window doubles.
        try flow.onBytesReceived(500)
        flow.onBytesConsumed(1_000)
        #expect(
            flow.takeWindowUpdate(now: Instant(nanoseconds: 5_000_000), smoothedRtt: .milliseconds(10)) == 1_500 + 2_000
        )
        #expect(flow.advertisedMaxData == 3_500)
        // Slowly: no growth.
        try flow.onBytesReceived(1_500)
        flow.onBytesConsumed(1_500)
        #expect(
            flow.takeWindowUpdate(now: Instant(nanoseconds: 500_000_000), smoothedRtt: .milliseconds(10)) == 3_000
                + 2_000)
        // Consuming more than was received cannot inflate the window.
        flow.onBytesConsumed(1_000_000)
        #expect(flow.takeWindowUpdate(now: Instant(nanoseconds: 900_000_000), smoothedRtt: .milliseconds(10)) == nil)
    }

    /// Stream and connection limits together: a sender that obeys both never triggers a
    /// violation and the connection counts each stream byte once.
    @Test func streamsShareConnectionCredit() throws {
        var connSend = ConnectionFlowControl(initialLocalWindow: 0, maxLocalWindow: 0, initialPeerMaxData: 1_500)
        var connRecv = ConnectionFlowControl(initialLocalWindow: 1_500, maxLocalWindow: 1_500, initialPeerMaxData: 0)
        let ids = [StreamID(rawValue: 0), StreamID(rawValue: 2)]
        var senders = ids.map { SendStream(id: $0, bufferLimit: 10_000, peerMaxData: 1_000) }
        var receivers = ids.map { RecvStream(id: $0, initialWindow: 1_000, maxWindow: 1_000) }
        for i in senders.indices { _ = try senders[i].write(.init(repeating: UInt8(i), count: 1_000)) }
        var sent = 0
        for i in senders.indices {
            while let chunk = senders[i].nextChunk(maxLength: 300, connectionCredit: connSend.sendCredit) {
                connSend.onNewBytesSent(chunk.newBytes)
                sent += chunk.newBytes
                try connRecv.onBytesReceived(
                    try receivers[i].receive(offset: chunk.offset, data: chunk.data, fin: chunk.fin))
            }
        }
        #expect(sent == 1_500)
        #expect(connSend.isSendBlocked)
        #expect(senders[1].hasSendableData, "stream credit remains; connection credit is what blocks")
        #expect(!senders[1].isBlockedByStreamCredit)
        // A frame beyond connection credit is caught even though the stream allows it.
        #expect(throws: StreamError.flowControlViolation(StreamID(rawValue: .max))) {
            try connRecv.onBytesReceived(
                try receivers[1].receive(offset: 500, data: .init(repeating: 1, count: 10), fin: false))
        }
    }
}
