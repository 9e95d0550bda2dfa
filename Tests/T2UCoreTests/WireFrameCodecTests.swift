// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import Testing

@testable import T2UCore

@Suite struct WireFrameCodecTests {
    @Test func everySampleFrameRoundTrips() throws {
        for frame in WireSamples.frames {
            var buffer = WireSamples.encode([frame])
            #expect(buffer.readableBytes == FrameCodec.encodedLength(frame), "\(frame)")
            let decoded = try FrameCodec.decode(from: &buffer)
            #expect(decoded == frame)
            #expect(buffer.readableBytes == 0, "\(frame) left bytes behind")
        }
    }

    @Test func concatenatedFramesDecodeInOrder() throws {
        let frames = WireSamples.frames.filter { if case .padding = $0 { false } else { true } }
        var buffer = WireSamples.encode(frames)
        var decoded: [Frame] = []
        while buffer.readableBytes > 0 { decoded.append(try FrameCodec.decode(from: &buffer)) }
        #expect(decoded == frames)
    }

    @Test func typeBytesAreTheDocumentedOnes() {
        let id = StreamID(rawValue: 1)
        let expected: [(Frame, UInt8)] = [
            (.padding(length: 1), 0x00), (.ping, 0x01), (.ack(AckFrame(ackDelayMicros: 0, ranges: [1...1])), 0x02),
            (.resetStream(id: id, errorCode: 0, finalSize: 0), 0x04),
            (WireSamples.stream(id: 1, offset: 0, [], fin: false), 0x08),
            (WireSamples.stream(id: 1, offset: 0, [], fin: true), 0x09),
            (.maxData(1), 0x10), (.maxStreamData(id: id, maximum: 1), 0x11), (.maxStreams(1), 0x12),
            (.dataBlocked(limit: 1), 0x14), (.streamDataBlocked(id: id, limit: 1), 0x15),
            (.pathChallenge(1), 0x1a), (.pathResponse(1), 0x1b), (.close(errorCode: 0, reason: ""), 0x1c),
        ]
        for (frame, type) in expected { #expect(WireSamples.bytes(frame).first == type, "\(frame)") }
    }

    /// The ACK layout is QUIC's: largest, delay, count of further ranges, first range length, then
    /// (gap, length) pairs where gap = missing packet numbers - 1.
    @Test func ackLayoutMatchesQUIC() {
        let frame = Frame.ack(AckFrame(ackDelayMicros: 25, ranges: [100...110, 90...97, 0...88]))
        #expect(WireSamples.bytes(frame) == [0x02, 0x40, 110, 25, 2, 10, 1, 7, 0, 0x40, 88])
    }

    @Test func streamLayoutHasExplicitOffsetAndLength() {
        let frame = WireSamples.stream(id: 5, offset: 64, [9, 8], fin: true)
        #expect(WireSamples.bytes(frame) == [0x09, 5, 0x40, 64, 2, 9, 8])
        #expect(FrameCodec.streamFrameHeaderLength(id: StreamID(rawValue: 5), offset: 64, length: 2) == 5)
        #expect(FrameCodec.streamFrameHeaderLength(id: StreamID(rawValue: 64), offset: 1 << 30, length: 16384) == 15)
    }

    @Test func writeStreamFrameMatchesEncode() {
        var data = ByteBuffer(bytes: [0xFF, 1, 2, 3, 4])
        data.moveReaderIndex(forwardBy: 1)  // only readable bytes are sent
        var fast = ByteBuffer()
        FrameCodec.writeStreamFrame(id: StreamID(rawValue: 300), offset: 70000, fin: false, data: data, into: &fast)
        let viaFrame = WireSamples.encode([WireSamples.stream(id: 300, offset: 70000, [1, 2, 3, 4], fin: false)])
        #expect(fast == viaFrame)
    }

    @Test func streamDataIsAZeroCopySlice() throws {
        var buffer = WireSamples.encode([WireSamples.stream(id: 1, offset: 0, [7, 7, 7, 7], fin: false)])
        let base = buffer.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) }
        guard case .stream(let frame) = try FrameCodec.decode(from: &buffer) else {
            Issue.record("not a stream frame")
            return
        }
        let dataAddress = frame.data.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) }
        #expect(dataAddress == base + 4)  // after type, id, offset, length
    }

    @Test func paddingRunDecodesAsOneFrame() throws {
        var buffer = ByteBuffer(bytes: [0, 0, 0, 0x01, 0, 0])
        #expect(try FrameCodec.decode(from: &buffer) == .padding(length: 3))
        #expect(try FrameCodec.decode(from: &buffer) == .ping)
        #expect(try FrameCodec.decode(from: &buffer) == .padding(length: 2))
        #expect(buffer.readableBytes == 0)
        #expect(FrameCodec.encodedLength(.padding(length: 0)) == 0)
    }

    /// Every proper prefix of an encoded frame fails with `.truncated` and consumes nothing.
    @Test func truncationAtEveryByteIsATypedError() {
        for frame in WireSamples.frames {
            if case .padding = frame { continue }  // a shorter run of padding is still padding
            let bytes = WireSamples.bytes(frame)
            for cut in 0..<bytes.count {
                var buffer = ByteBuffer(bytes: bytes[..<cut])
                do {
                    let decoded = try FrameCodec.decode(from: &buffer)
                    Issue.record("\(frame) cut at \(cut) decoded as \(decoded)")
                } catch {
                    #expect(error.isTruncated, "\(frame) cut at \(cut): \(error)")
                    #expect(buffer.readableBytes == cut, "\(frame) cut at \(cut) consumed bytes")
                }
            }
        }
    }

    static let malformed: [([UInt8], WireError)] = [
        // first range longer than largest
        ([0x02, 5, 0, 0, 6], .invalidFrame("ACK range underflow")),
        // gap below zero: smallest 0 leaves no room for a gap
        ([0x02, 5, 0, 1, 5, 0, 0], .invalidFrame("ACK range underflow")),
        // gap fine (next largest 1), range length 2 underflows
        ([0x02, 5, 0, 1, 2, 0, 2], .invalidFrame("ACK range underflow")),
        // 256 further ranges = 257 in total
        ([0x02, 0x44, 0, 0, 0x41, 0x00], .invalidFrame("too many ACK ranges")),
        // offset 2^62-1, length 2
        ([0x09, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 2, 0, 0], .invalidFrame("stream end above 2^62")),
        ([0x1c, 0, 0x41, 0x00] + Array(repeating: 0x41, count: 256), .invalidFrame("reason too long")),
        ([0x03], .unknownFrameType(0x03)),
        ([0x3f], .unknownFrameType(0x3f)),
        ([0x40, 0x01], .invalidFrame("non-minimal frame type")),
        ([0x80, 0x00, 0x01, 0x00], .unknownFrameType(0x100)),
        ([0x40], .truncated("frame type")),
        ([0x08, 0, 0, 5, 1, 2], .truncated("STREAM data")),
    ]

    @Test(arguments: malformed)
    func malformedFramesAreRejected(bytes: [UInt8], expected: WireError) {
        var buffer = ByteBuffer(bytes: bytes)
        #expect(throws: expected) { try FrameCodec.decode(from: &buffer) }
        #expect(buffer.readableBytes == bytes.count, "an error must not consume input")
    }

    @Test func ackWithTheMaximumRangeCountDecodes() throws {
        let ranges = WireSamples.manyRanges(FrameCodec.maxAckRangesDecoded)
        let frame = Frame.ack(AckFrame(ackDelayMicros: 0, ranges: ranges))
        guard case .success(.ack(let ack)) = decodeResult(WireSamples.bytes(frame)) else {
            Issue.record("256 ranges must decode")
            return
        }
        #expect(ack.ranges == ranges)
    }

    @Test func closeReasonWithInvalidUTF8IsRepaired() throws {
        #expect(try decodeResult([0x1c, 0, 2, 0xFF, 0x41]).get() == .close(errorCode: 0, reason: "\u{FFFD}A"))
        // 255 invalid bytes repair to 765 UTF-8 bytes; the result is cut to 255 (85 x U+FFFD) so
        // that it re-encodes to itself.
        let repaired = String(repeating: "\u{FFFD}", count: 85)
        let decoded = try? decodeResult([0x1c, 0, 0x40, 0xFF] + Array(repeating: 0xFF, count: 255)).get()
        #expect(decoded == .close(errorCode: 0, reason: repaired))
        #expect(WireSamples.bytes(.close(errorCode: 0, reason: repaired)).count == 1 + 1 + 2 + 255)
    }

    @Test func longCloseReasonIsCutAtAScalarBoundary() throws {
        let reason = String(repeating: "a", count: 254) + "é" + "tail"  // é is 2 bytes: 254..<256
        let frame = Frame.close(errorCode: 1, reason: reason)
        let bytes = WireSamples.bytes(frame)
        #expect(bytes.count == FrameCodec.encodedLength(frame))
        #expect(try decodeResult(bytes).get() == .close(errorCode: 1, reason: String(repeating: "a", count: 254)))
    }
}
