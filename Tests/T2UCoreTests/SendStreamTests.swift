// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import Testing

@testable import T2UCore

private func buffer(_ bytes: [UInt8]) -> ByteBuffer { ByteBuffer(bytes: bytes) }
private func pattern(_ count: Int, from start: Int = 0) -> [UInt8] {
    (start..<(start + count)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
}
private let sid = StreamID(rawValue: 4)

/// `nextChunk` that must return something (`#require` cannot wrap a mutating call).
private func take(
    _ stream: inout SendStream, maxLength: Int, connectionCredit: UInt64,
    sourceLocation: SourceLocation = #_sourceLocation
) throws -> SendChunk {
    let chunk = stream.nextChunk(maxLength: maxLength, connectionCredit: connectionCredit)
    return try #require(chunk, sourceLocation: sourceLocation)
}

@Suite struct SendStreamTests {
    @Test func sendsNewDataInOrderWithinMaxLength() throws {
        var stream = SendStream(id: sid, bufferLimit: 1_000, peerMaxData: 1_000)
        #expect(try stream.write(buffer(pattern(250))) == 250)
        #expect(stream.hasSendableData)
        let first = try take(&stream, maxLength: 100, connectionCredit: .max)
        #expect(first.offset == 0 && first.data.readableBytes == 100 && first.newBytes == 100 && !first.fin)
        #expect(Array(first.data.readableBytesView) == Array(pattern(250)[0..<100]))
        let second = try take(&stream, maxLength: 1_000, connectionCredit: .max)
        #expect(second.offset == 100 && second.data.readableBytes == 150 && second.newBytes == 150)
        #expect(Array(second.data.readableBytesView) == Array(pattern(250)[100..<250]))
        #expect(stream.sentOffset == 250)
        #expect(!stream.hasSendableData)
        #expect(stream.nextChunk(maxLength: 1_000, connectionCredit: .max) == nil)
    }

    @Test func writeAcceptsOnlyBufferRoomAndAckFreesIt() throws {
        var stream = SendStream(id: sid, bufferLimit: 100, peerMaxData: 10_000)
        #expect(try stream.write(buffer(pattern(70))) == 70)
        #expect(stream.writableBytes == 30)
        #expect(try stream.write(buffer(pattern(70))) == 30)
        #expect(stream.writableBytes == 0)
        #expect(try stream.write(buffer(pattern(1))) == 0)
        let chunk = try take(&stream, maxLength: 100, connectionCredit: .max)
        #expect(chunk.data.readableBytes == 100)
        // Sending frees nothing; acknowledging does.
        #expect(stream.writableBytes == 0)
        stream.onAcked(offset: 50, length: 50, fin: false)
        #expect(stream.writableBytes == 0, "an ack above the prefix frees no memory")
        #expect(stream.unackedBytes == 100)
        stream.onAcked(offset: 0, length: 50, fin: false)
        #expect(stream.unackedBytes == 0)
        #expect(stream.writableBytes == 100)
    }

    @Test func streamCreditLimitsNewDataAndReportsBlocked() throws {
        var stream = SendStream(id: sid, bufferLimit: 1_000, peerMaxData: 60)
        _ = try stream.write(buffer(pattern(100)))
        let chunk = try take(&stream, maxLength: 1_000, connectionCredit: .max)
        #expect(chunk.data.readableBytes == 60)
        #expect(!stream.hasSendableData)
        #expect(stream.isBlockedByStreamCredit)
        #expect(stream.nextChunk(maxLength: 1_000, connectionCredit: .max) == nil)
        stream.updatePeerMaxData(30)  // decreases are ignored
        #expect(stream.isBlockedByStreamCredit)
        stream.updatePeerMaxData(200)
        #expect(!stream.isBlockedByStreamCredit)
        let rest = try take(&stream, maxLength: 1_000, connectionCredit: .max)
        #expect(rest.offset == 60 && rest.data.readableBytes == 40)
    }

    @Test func connectionCreditLimitsOnlyNewBytes() throws {
        var stream = SendStream(id: sid, bufferLimit: 1_000, peerMaxData: 1_000)
        _ = try stream.write(buffer(pattern(100)))
        #expect(stream.nextChunk(maxLength: 1_000, connectionCredit: 0) == nil)
        let chunk = try take(&stream, maxLength: 1_000, connectionCredit: 40)
        #expect(chunk.data.readableBytes == 40 && chunk.newBytes == 40)
        stream.onLost(offset: 0, length: 40, fin: false)
        // A retransmission needs no credit and consumes none.
        let again = try take(&stream, maxLength: 1_000, connectionCredit: 0)
        #expect(again.offset == 0 && again.data.readableBytes == 40 && again.newBytes == 0)
    }

    @Test func lostRangesAreResentBeforeNewDataAndAckedBytesNever() throws {
        var stream = SendStream(id: sid, bufferLimit: 1_000, peerMaxData: 1_000)
        let bytes = pattern(300)
        _ = try stream.write(buffer(bytes))
        _ = stream.nextChunk(maxLength: 100, connectionCredit: .max)  // 0..<100
        _ = stream.nextChunk(maxLength: 100, connectionCredit: .max)  // 100..<200
        // 50..<80 got through in some later packet; then the packet with 0..<100 is lost.
        stream.onAcked(offset: 50, length: 30, fin: false)
        stream.onLost(offset: 0, length: 100, fin: false)
        let r1 = try take(&stream, maxLength: 1_000, connectionCredit: .max)
        #expect(r1.offset == 0 && r1.data.readableBytes == 50 && r1.newBytes == 0)
        #expect(Array(r1.data.readableBytesView) == Array(bytes[0..<50]))
        let r2 = try take(&stream, maxLength: 1_000, connectionCredit: .max)
        #expect(r2.offset == 80 && r2.data.readableBytes == 20)
        #expect(Array(r2.data.readableBytesView) == Array(bytes[80..<100]))
        let fresh = try take(&stream, maxLength: 1_000, connectionCredit: .max)
        #expect(fresh.offset == 200 && fresh.newBytes == 100)
    }

    @Test func spuriousLossAckedLaterIsNotResent() throws {
        var stream = SendStream(id: sid, bufferLimit: 1_000, peerMaxData: 1_000)
        _ = try stream.write(buffer(pattern(100)))
        _ = stream.nextChunk(maxLength: 100, connectionCredit: .max)
        stream.onLost(offset: 0, length: 100, fin: false)
        stream.onAcked(offset: 0, length: 100, fin: false)  // the original arrived after all
        #expect(!stream.hasSendableData)
        #expect(stream.nextChunk(maxLength: 1_000, connectionCredit: .max) == nil)
        // Losing an already acknowledged range requeues nothing.
        stream.onLost(offset: 0, length: 100, fin: false)
        #expect(!stream.hasSendableData)
    }

    @Test func finRidesOnLastDataThenRetransmitsAndCompletes() throws {
        var stream = SendStream(id: sid, bufferLimit: 1_000, peerMaxData: 1_000)
        _ = try stream.write(buffer(pattern(10)))
        try stream.finish()
        #expect(stream.isFinished)
        #expect(stream.writableBytes == 0)
        #expect(throws: StreamError.alreadyFinished(sid)) { _ = try stream.write(buffer([1])) }
        #expect(throws: StreamError.alreadyFinished(sid)) { try stream.finish() }
        let chunk = try take(&stream, maxLength: 1_000, connectionCredit: .max)
        #expect(chunk.fin && chunk.data.readableBytes == 10)
        stream.onLost(offset: 0, length: 10, fin: true)
        let again = try take(&stream, maxLength: 4, connectionCredit: .max)
        #expect(!again.fin && again.offset == 0, "FIN only with the final byte")
        let last = try take(&stream, maxLength: 100, connectionCredit: .max)
        #expect(last.fin && last.offset == 4 && last.data.readableBytes == 6)
        #expect(!stream.isAllAcked)
        stream.onAcked(offset: 0, length: 10, fin: false)
        #expect(!stream.isAllAcked, "FIN not acknowledged yet")
        stream.onAcked(offset: 4, length: 6, fin: true)
        #expect(stream.isAllAcked)
        #expect(!stream.hasSendableData)
    }

    @Test func bareFinAfterDataAndLostBareFin() throws {
        var stream = SendStream(id: sid, bufferLimit: 1_000, peerMaxData: 1_000)
        _ = try stream.write(buffer(pattern(10)))
        _ = stream.nextChunk(maxLength: 100, connectionCredit: .max)
        try stream.finish()
        #expect(stream.hasSendableData)
        let fin = try take(&stream, maxLength: 100, connectionCredit: 0)
        #expect(fin.fin && fin.offset == 10 && fin.data.readableBytes == 0 && fin.newBytes == 0)
        #expect(!stream.hasSendableData)
        stream.onLost(offset: 10, length: 0, fin: true)
        let refin = try take(&stream, maxLength: 100, connectionCredit: 0)
        #expect(refin.fin && refin.offset == 10 && refin.data.readableBytes == 0)
        stream.onAcked(offset: 0, length: 10, fin: false)
        stream.onAcked(offset: 10, length: 0, fin: true)
        #expect(stream.isAllAcked)
    }

    @Test func emptyStreamFinishesWithBareFin() throws {
        var stream = SendStream(id: sid, bufferLimit: 1_000, peerMaxData: 0)
        try stream.finish()
        let fin = try take(&stream, maxLength: 100, connectionCredit: 0)
        #expect(fin.fin && fin.offset == 0 && fin.data.readableBytes == 0)
        stream.onAcked(offset: 0, length: 0, fin: true)
        #expect(stream.isAllAcked)
    }

    @Test func smallWritesCoalesceIntoOneFrame() throws {
        var stream = SendStream(id: sid, bufferLimit: 1_000, peerMaxData: 1_000)
        let bytes = pattern(50)
        for i in 0..<10 { _ = try stream.write(buffer(Array(bytes[(i * 5)..<(i * 5 + 5)]))) }
        let chunk = try take(&stream, maxLength: 42, connectionCredit: .max)
        #expect(chunk.offset == 0 && Array(chunk.data.readableBytesView) == Array(bytes[0..<42]))
        stream.onLost(offset: 3, length: 30, fin: false)
        let again = try take(&stream, maxLength: 100, connectionCredit: .max)
        #expect(again.offset == 3 && Array(again.data.readableBytesView) == Array(bytes[3..<33]))
    }

    @Test func resetStopsSendingAndKeepsFinalSize() throws {
        var stream = SendStream(id: sid, bufferLimit: 1_000, peerMaxData: 1_000)
        _ = try stream.write(buffer(pattern(300)))
        _ = stream.nextChunk(maxLength: 120, connectionCredit: .max)
        stream.onLost(offset: 0, length: 120, fin: false)
        stream.reset()
        #expect(stream.sentOffset == 120)
        #expect(stream.writableBytes == 0)
        #expect(try stream.write(buffer([1])) == 0)
        #expect(!stream.hasSendableData)
        #expect(!stream.isBlockedByStreamCredit)
        #expect(stream.nextChunk(maxLength: 1_000, connectionCredit: .max) == nil)
        #expect(stream.unackedBytes == 0, "reset drops the buffer")
    }

    /// Random sizes, losses, acks and reordering end to end into a RecvStream: the receiver gets
    /// exactly the written bytes, no acknowledged byte is ever sent again and memory is freed.
    @Test(arguments: [7 as UInt64, 99, 2024, 31337])
    func randomLossAndAckDeliversExactBytes(seed: UInt64) throws {
        let rng = SeededEntropy(seed: seed)
        let total = 20_000
        let bytes = pattern(total, from: Int(seed % 97))
        var sender = SendStream(id: sid, bufferLimit: 4_096, peerMaxData: 6_000)
        var receiver = RecvStream(id: sid, initialWindow: 6_000, maxWindow: 6_000)
        var written = 0
        var received: [UInt8] = []
        var inFlight: [SendChunk] = []
        var everAcked = RangeSet()
        var finDone = false
        var rounds = 0
        while !sender.isAllAcked {
            rounds += 1
            guard rounds < 100_000 else {
                Issue.record("no progress, seed \(seed)")
                return
            }
            if written < total, sender.writableBytes > 0 {
                let n = min(Int(rng.next(below: 700)) + 1, total - written)
                written += try sender.write(buffer(Array(bytes[written..<(written + n)])))
            }
            if written == total, !finDone {
                try sender.finish()
                finDone = true
            }
            while let chunk = sender.nextChunk(maxLength: Int(rng.next(below: 400)) + 1, connectionCredit: .max) {
                let range = chunk.offset..<(chunk.offset + UInt64(chunk.data.readableBytes))
                for acked in everAcked.ranges {
                    #expect(!acked.overlaps(range), "resent acked bytes \(range), seed \(seed)")
                }
                inFlight.append(chunk)
                if inFlight.count > 20 { break }
            }
            // Deliver, drop or delay a random in-flight chunk.
            while !inFlight.isEmpty, rng.next(below: 4) != 0 {
                let chunk = inFlight.remove(at: Int(rng.next(below: UInt64(inFlight.count))))
                if rng.next(below: 5) == 0 {
                    sender.onLost(offset: chunk.offset, length: chunk.data.readableBytes, fin: chunk.fin)
                } else {
                    _ = try receiver.receive(offset: chunk.offset, data: chunk.data, fin: chunk.fin)
                    sender.onAcked(offset: chunk.offset, length: chunk.data.readableBytes, fin: chunk.fin)
                    everAcked.insert(chunk.offset..<(chunk.offset + UInt64(chunk.data.readableBytes)))
                }
            }
            #expect(sender.unackedBytes <= 4_096, "seed \(seed)")
            while case .data(let data) = receiver.read(maxBytes: Int(rng.next(below: 2_000)) + 1) {
                received.append(contentsOf: data.readableBytesView)
            }
            if let limit = receiver.takeWindowUpdate(now: .zero, smoothedRtt: .zero) {
                sender.updatePeerMaxData(limit)
            }
        }
        #expect(receiver.read(maxBytes: 10) == .fin, "seed \(seed)")
        #expect(received == bytes, "seed \(seed)")
        #expect(sender.unackedBytes == 0, "seed \(seed)")
    }
}
