// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
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

    /// A hole hides a window that limits: the reader waits at it while the data behind fills
    /// the window, and the next update comes a repair later, too late for the two-RTT rule.
    /// The window then doubles anyway; a slow reader (data waiting to be read, no hole) still
    /// never grows it.
    @Test func aWindowFilledBehindAHoleGrowsAtTheNextUpdate() throws {
        var stream = RecvStream(id: StreamID(rawValue: 0), initialWindow: 1_000, maxWindow: 8_000)
        let rtt = Nanos.milliseconds(10)
        _ = try stream.receive(offset: 0, data: ByteBuffer(repeating: 1, count: 100), fin: false)
        _ = stream.read(maxBytes: .max)
        #expect(stream.takeWindowUpdate(now: .zero, smoothedRtt: rtt) == nil)
        // Bytes 100..<200 are lost; the rest of the window arrives behind them.
        _ = try stream.receive(offset: 200, data: ByteBuffer(repeating: 1, count: 800), fin: false)
        #expect(stream.isReaderAtHole)
        // The repair lands long after (several RTTs): the reader drains the window at once.
        _ = try stream.receive(offset: 100, data: ByteBuffer(repeating: 1, count: 100), fin: false)
        while case .data = stream.read(maxBytes: .max) {}
        let late = Instant.zero + .milliseconds(100)
        #expect(stream.takeWindowUpdate(now: late, smoothedRtt: rtt) == 1_000 + 2_000)

        // A slow reader: the window fills with readable data, no hole; updates come late.
        var slow = RecvStream(id: StreamID(rawValue: 4), initialWindow: 1_000, maxWindow: 8_000)
        _ = try slow.receive(offset: 0, data: ByteBuffer(repeating: 1, count: 1_000), fin: false)
        #expect(!slow.isReaderAtHole)
        _ = slow.read(maxBytes: 600)
        #expect(slow.takeWindowUpdate(now: late, smoothedRtt: rtt) == 600 + 1_000)
    }

    /// Behind a hole the window doubles as the peer fills it, once per RTT, without waiting
    /// for the repair; up to the maximum. A slow reader (no hole) never grows it this way.
    @Test func aWindowFilledBehindAHoleGrowsAtOnceOncePerRtt() throws {
        var stream = RecvStream(id: StreamID(rawValue: 0), initialWindow: 1_000, maxWindow: 8_000)
        let rtt = Nanos.milliseconds(10)
        let t0 = Instant.zero + .seconds(1)
        _ = try stream.receive(offset: 0, data: ByteBuffer(repeating: 1, count: 100), fin: false)
        _ = stream.read(maxBytes: .max)
        #expect(stream.takeGrowthBehindHole(now: t0, smoothedRtt: rtt) == nil, "no hole yet")
        // Bytes 100..<200 are lost; the rest of the window arrives behind them.
        _ = try stream.receive(offset: 200, data: ByteBuffer(repeating: 1, count: 800), fin: false)
        #expect(stream.takeGrowthBehindHole(now: t0, smoothedRtt: rtt) == 100 + 2_000)
        _ = try stream.receive(offset: 1_000, data: ByteBuffer(repeating: 1, count: 1_000), fin: false)
        #expect(stream.takeGrowthBehindHole(now: t0 + .milliseconds(5), smoothedRtt: rtt) == nil, "within the RTT")
        #expect(stream.takeGrowthBehindHole(now: t0 + .milliseconds(10), smoothedRtt: rtt) == 100 + 4_000)
        _ = try stream.receive(offset: 2_000, data: ByteBuffer(repeating: 1, count: 2_000), fin: false)
        #expect(stream.takeGrowthBehindHole(now: t0 + .milliseconds(20), smoothedRtt: rtt) == 100 + 8_000)
        _ = try stream.receive(offset: 4_000, data: ByteBuffer(repeating: 1, count: 4_000), fin: false)
        #expect(stream.takeGrowthBehindHole(now: t0 + .milliseconds(30), smoothedRtt: rtt) == nil, "at the maximum")

        var slow = RecvStream(id: StreamID(rawValue: 4), initialWindow: 1_000, maxWindow: 8_000)
        _ = try slow.receive(offset: 0, data: ByteBuffer(repeating: 1, count: 1_000), fin: false)
        #expect(slow.takeGrowthBehindHole(now: t0, smoothedRtt: rtt) == nil)
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
