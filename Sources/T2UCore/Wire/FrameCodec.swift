// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore

/// Encodes and decodes frames (the plaintext of a protected packet). The layouts are QUIC's
/// (RFC 9000 §19) for the frames we share with it; type bytes are listed in `FrameType`.
///
/// Decoding never traps on peer bytes: every read is bounds-checked and failures are typed
/// `WireError`s. The decoder allocates nothing except the ranges array of an ACK frame
/// (bounded by `maxAckRangesDecoded`) and a CLOSE reason string; STREAM data is a slice of
/// the input buffer.
package enum FrameCodec {
    /// An ACK frame carrying more ranges is rejected (bounds decode work and memory per frame).
    package static let maxAckRangesDecoded: Int = 256

    /// Longest CLOSE reason on the wire, in UTF-8 bytes.
    static let maxReasonLength = 255

    /// Largest stream offset + length (the varint range, as in QUIC).
    static let maxStreamEnd: UInt64 = 1 << 62

    enum FrameType {
        static let padding: UInt8 = 0x00
        static let ping: UInt8 = 0x01
        static let ack: UInt8 = 0x02
        static let resetStream: UInt8 = 0x04
        static let stream: UInt8 = 0x08
        static let streamFin: UInt8 = 0x09
        static let maxData: UInt8 = 0x10
        static let maxStreamData: UInt8 = 0x11
        static let maxStreams: UInt8 = 0x12
        static let dataBlocked: UInt8 = 0x14
        static let streamDataBlocked: UInt8 = 0x15
        static let pathChallenge: UInt8 = 0x1a
        static let pathResponse: UInt8 = 0x1b
        static let close: UInt8 = 0x1c
        static let keyUpdate: UInt8 = 0x1e
        static let keyUpdateResponse: UInt8 = 0x1f
    }

    // MARK: Encoding

    /// Appends `frame`. Frame values are local data: an invalid one (empty or overlapping ACK
    /// ranges, a value above `VarInt.max`) is a programming error and traps. Two limits of the
    /// decoder are applied instead of producing a frame the peer rejects: an ACK keeps its
    /// newest `maxAckRangesDecoded` ranges, and a CLOSE reason longer than 255 bytes is cut at a
    /// Unicode scalar boundary. To bound an ACK by bytes, use `writeAckFrame`.
    package static func encode(_ frame: Frame, into buffer: inout ByteBuffer) {
        switch frame {
        case .padding(let length):
            if length > 0 { buffer.writeRepeatingByte(0, count: length) }
        case .ping:
            buffer.writeInteger(FrameType.ping)
        case .ack(let ack):
            precondition(!ack.ranges.isEmpty, "ACK frame without ranges")
            writeAck(
                ackDelayMicros: ack.ackDelayMicros, ranges: ack.ranges,
                count: Swift.min(ack.ranges.count, maxAckRangesDecoded), into: &buffer)
        case .stream(let stream):
            writeStreamFrame(id: stream.id, offset: stream.offset, fin: stream.fin, data: stream.data, into: &buffer)
        case .resetStream(let id, let errorCode, let finalSize):
            buffer.writeInteger(FrameType.resetStream)
            VarInt.write(id.rawValue, to: &buffer)
            VarInt.write(errorCode, to: &buffer)
            VarInt.write(finalSize, to: &buffer)
        case .maxData(let maximum):
            buffer.writeInteger(FrameType.maxData)
            VarInt.write(maximum, to: &buffer)
        case .maxStreamData(let id, let maximum):
            buffer.writeInteger(FrameType.maxStreamData)
            VarInt.write(id.rawValue, to: &buffer)
            VarInt.write(maximum, to: &buffer)
        case .maxStreams(let maximum):
            buffer.writeInteger(FrameType.maxStreams)
            VarInt.write(maximum, to: &buffer)
        case .dataBlocked(let limit):
            buffer.writeInteger(FrameType.dataBlocked)
            VarInt.write(limit, to: &buffer)
        case .streamDataBlocked(let id, let limit):
            buffer.writeInteger(FrameType.streamDataBlocked)
            VarInt.write(id.rawValue, to: &buffer)
            VarInt.write(limit, to: &buffer)
        case .pathChallenge(let data):
            buffer.writeMultipleIntegers(FrameType.pathChallenge, data)
        case .pathResponse(let data):
            buffer.writeMultipleIntegers(FrameType.pathResponse, data)
        case .close(let errorCode, let reason):
            buffer.writeInteger(FrameType.close)
            VarInt.write(errorCode, to: &buffer)
            let length = reasonWireLength(reason)
            VarInt.write(UInt64(length), to: &buffer)
            buffer.writeBytes(reason.utf8.prefix(length))
        case .keyUpdate(let update):
            buffer.writeInteger(update.isResponse ? FrameType.keyUpdateResponse : FrameType.keyUpdate)
            VarInt.write(update.sequence, to: &buffer)
            buffer.writeBytes(update.publicKey)
        }
    }

    /// Exactly the number of bytes `encode` appends for `frame`.
    package static func encodedLength(_ frame: Frame) -> Int {
        switch frame {
        case .padding(let length):
            return Swift.max(0, length)
        case .ping:
            return 1
        case .ack(let ack):
            precondition(!ack.ranges.isEmpty, "ACK frame without ranges")
            var length = ackHeaderLength(ackDelayMicros: ack.ackDelayMicros, first: ack.ranges[0])
            let count = Swift.min(ack.ranges.count, maxAckRangesDecoded)
            length += VarInt.encodedLength(UInt64(count - 1))
            for i in 1..<count {
                length += ackPairLength(previous: ack.ranges[i - 1], range: ack.ranges[i])
            }
            return length
        case .stream(let stream):
            let count = stream.data.readableBytes
            return streamFrameHeaderLength(id: stream.id, offset: stream.offset, length: count) + count
        case .resetStream(let id, let errorCode, let finalSize):
            return 1 + VarInt.encodedLength(id.rawValue) + VarInt.encodedLength(errorCode)
                + VarInt.encodedLength(finalSize)
        case .maxData(let value), .maxStreams(let value), .dataBlocked(let value):
            return 1 + VarInt.encodedLength(value)
        case .maxStreamData(let id, let value), .streamDataBlocked(let id, let value):
            return 1 + VarInt.encodedLength(id.rawValue) + VarInt.encodedLength(value)
        case .pathChallenge, .pathResponse:
            return 9
        case .close(let errorCode, let reason):
            let length = reasonWireLength(reason)
            return 1 + VarInt.encodedLength(errorCode) + VarInt.encodedLength(UInt64(length)) + length
        case .keyUpdate(let update):
            return 1 + VarInt.encodedLength(update.sequence) + KeyUpdateFrame.publicKeyLength
        }
    }

    /// Header bytes of a STREAM frame (type, id, offset, length fields) for these values.
    @inlinable
    package static func streamFrameHeaderLength(id: StreamID, offset: UInt64, length: Int) -> Int {
        1 + VarInt.encodedLength(id.rawValue) + VarInt.encodedLength(offset)
            + VarInt.encodedLength(UInt64(length))
    }

    /// Writes a STREAM frame header followed by `data`'s readable bytes (fast path, no Frame
    /// value). Offset and length are always explicit.
    package static func writeStreamFrame(
        id: StreamID, offset: UInt64, fin: Bool, data: ByteBuffer, into buffer: inout ByteBuffer
    ) {
        let length = UInt64(data.readableBytes)
        precondition(offset <= maxStreamEnd && length <= maxStreamEnd - offset, "stream end above 2^62")
        buffer.writeInteger(fin ? FrameType.streamFin : FrameType.stream)
        VarInt.write(id.rawValue, to: &buffer)
        VarInt.write(offset, to: &buffer)
        VarInt.write(length, to: &buffer)
        buffer.writeImmutableBuffer(data)
    }

    /// Encodes an ACK frame for `ranges` (descending, disjoint, separated by at least one
    /// missing packet number) in at most `maxLength` bytes. Keeps the newest ranges and drops
    /// the oldest that do not fit, and never writes more than `maxAckRangesDecoded` ranges (the
    /// peer would reject the frame). Returns the number of ranges written; 0 (nothing written)
    /// if not even the first range fits or `ranges` is empty.
    package static func writeAckFrame(
        ackDelayMicros: UInt64, ranges: [ClosedRange<PacketNumber>], maxLength: Int,
        into buffer: inout ByteBuffer
    ) -> Int {
        guard let first = ranges.first else { return 0 }
        let header = ackHeaderLength(ackDelayMicros: ackDelayMicros, first: first)
        guard header + 1 <= maxLength else { return 0 }
        let limit = Swift.min(ranges.count, maxAckRangesDecoded)
        var count = 1
        var pairsLength = 0
        while count < limit {
            let next = pairsLength + ackPairLength(previous: ranges[count - 1], range: ranges[count])
            guard header + VarInt.encodedLength(UInt64(count)) + next <= maxLength else { break }
            pairsLength = next
            count += 1
        }
        writeAck(ackDelayMicros: ackDelayMicros, ranges: ranges, count: count, into: &buffer)
        return count
    }

    /// Type, largest acknowledged, ACK delay and first range length (not the range count).
    private static func ackHeaderLength(ackDelayMicros: UInt64, first: ClosedRange<PacketNumber>) -> Int {
        1 + VarInt.encodedLength(first.upperBound) + VarInt.encodedLength(ackDelayMicros)
            + VarInt.encodedLength(first.upperBound - first.lowerBound)
    }

    /// Gap and range-length fields of `range`, which follows `previous`.
    private static func ackPairLength(previous: ClosedRange<PacketNumber>, range: ClosedRange<PacketNumber>) -> Int {
        VarInt.encodedLength(ackGap(previous: previous, range: range))
            + VarInt.encodedLength(range.upperBound - range.lowerBound)
    }

    private static func ackGap(previous: ClosedRange<PacketNumber>, range: ClosedRange<PacketNumber>) -> UInt64 {
        precondition(
            previous.lowerBound >= 2 && range.upperBound <= previous.lowerBound - 2,
            "ACK ranges must be descending and separated by a missing packet number")
        // QUIC encodes the gap as (missing packet numbers - 1).
        return previous.lowerBound - range.upperBound - 2
    }

    /// Writes the first `count` of `ranges`.
    private static func writeAck(
        ackDelayMicros: UInt64, ranges: [ClosedRange<PacketNumber>], count: Int, into buffer: inout ByteBuffer
    ) {
        let first = ranges[0]
        buffer.writeInteger(FrameType.ack)
        VarInt.write(first.upperBound, to: &buffer)
        VarInt.write(ackDelayMicros, to: &buffer)
        VarInt.write(UInt64(count - 1), to: &buffer)
        VarInt.write(first.upperBound - first.lowerBound, to: &buffer)
        for i in 1..<count {
            VarInt.write(ackGap(previous: ranges[i - 1], range: ranges[i]), to: &buffer)
            VarInt.write(ranges[i].upperBound - ranges[i].lowerBound, to: &buffer)
        }
    }

    /// UTF-8 bytes of `reason` that go on the wire: all of them, or the longest prefix of at
    /// most 255 bytes that ends on a Unicode scalar boundary.
    static func reasonWireLength(_ reason: String) -> Int {
        let utf8 = reason.utf8
        guard utf8.count > maxReasonLength else { return utf8.count }
        var length = maxReasonLength
        var index = utf8.index(utf8.startIndex, offsetBy: length)
        // Step back over continuation bytes (10xxxxxx) so no scalar is split.
        while length > 0, utf8[index] & 0xC0 == 0x80 {
            length -= 1
            index = utf8.index(before: index)
        }
        return length
    }

    // MARK: Decoding

    /// Decodes and consumes one frame. A run of PADDING bytes decodes as one `.padding(length:)`.
    /// STREAM data is a zero-copy slice of `buffer`. On error `buffer` is left unchanged.
    package static func decode(from buffer: inout ByteBuffer) throws(WireError) -> Frame {
        let start = buffer.readerIndex
        do {
            return try decodeFrame(from: &buffer)
        } catch {
            buffer.moveReaderIndex(to: start)
            throw error
        }
    }

    private static func decodeFrame(from buffer: inout ByteBuffer) throws(WireError) -> Frame {
        guard let type = buffer.readInteger(as: UInt8.self) else { throw .truncated("frame type") }
        switch type {
        case FrameType.padding:
            return .padding(length: 1 + skipZeros(&buffer))
        case FrameType.ping:
            return .ping
        case FrameType.ack:
            return .ack(try decodeAck(from: &buffer))
        case FrameType.resetStream:
            let id = try VarInt.read(from: &buffer, field: "RESET_STREAM stream ID")
            let errorCode = try VarInt.read(from: &buffer, field: "RESET_STREAM error code")
            let finalSize = try VarInt.read(from: &buffer, field: "RESET_STREAM final size")
            return .resetStream(id: StreamID(rawValue: id), errorCode: errorCode, finalSize: finalSize)
        case FrameType.stream, FrameType.streamFin:
            return .stream(try decodeStream(from: &buffer, fin: type == FrameType.streamFin))
        case FrameType.maxData:
            return .maxData(try VarInt.read(from: &buffer, field: "MAX_DATA maximum"))
        case FrameType.maxStreamData:
            let id = try VarInt.read(from: &buffer, field: "MAX_STREAM_DATA stream ID")
            let maximum = try VarInt.read(from: &buffer, field: "MAX_STREAM_DATA maximum")
            return .maxStreamData(id: StreamID(rawValue: id), maximum: maximum)
        case FrameType.maxStreams:
            return .maxStreams(try VarInt.read(from: &buffer, field: "MAX_STREAMS maximum"))
        case FrameType.dataBlocked:
            return .dataBlocked(limit: try VarInt.read(from: &buffer, field: "DATA_BLOCKED limit"))
        case FrameType.streamDataBlocked:
            let id = try VarInt.read(from: &buffer, field: "STREAM_DATA_BLOCKED stream ID")
            let limit = try VarInt.read(from: &buffer, field: "STREAM_DATA_BLOCKED limit")
            return .streamDataBlocked(id: StreamID(rawValue: id), limit: limit)
        case FrameType.pathChallenge:
            guard let data = buffer.readInteger(as: UInt64.self) else { throw .truncated("PATH_CHALLENGE data") }
            return .pathChallenge(data)
        case FrameType.pathResponse:
            guard let data = buffer.readInteger(as: UInt64.self) else { throw .truncated("PATH_RESPONSE data") }
            return .pathResponse(data)
        case FrameType.close:
            return try decodeClose(from: &buffer)
        case FrameType.keyUpdate, FrameType.keyUpdateResponse:
            let sequence = try VarInt.read(from: &buffer, field: "KEY_UPDATE sequence")
            guard let key = buffer.readBytes(length: KeyUpdateFrame.publicKeyLength) else {
                throw .truncated("KEY_UPDATE key")
            }
            return .keyUpdate(
                KeyUpdateFrame(isResponse: type == FrameType.keyUpdateResponse, sequence: sequence, publicKey: key))
        default:
            // Frame types are varints; every type we know fits in one byte (< 0x40).
            guard type >= 0x40 else { throw .unknownFrameType(UInt64(type)) }
            buffer.moveReaderIndex(to: buffer.readerIndex - 1)
            let value = try VarInt.read(from: &buffer, field: "frame type")
            if value < 0x40 { throw WireError.invalidFrame("non-minimal frame type") }
            throw WireError.unknownFrameType(value)
        }
    }

    /// Consumes consecutive zero bytes; returns how many.
    private static func skipZeros(_ buffer: inout ByteBuffer) -> Int {
        let count = buffer.withUnsafeReadableBytes { bytes in
            bytes.firstIndex(where: { $0 != 0 }) ?? bytes.count
        }
        buffer.moveReaderIndex(forwardBy: count)
        return count
    }

    private static func decodeAck(from buffer: inout ByteBuffer) throws(WireError) -> AckFrame {
        let largest = try VarInt.read(from: &buffer, field: "ACK largest acknowledged")
        let ackDelay = try VarInt.read(from: &buffer, field: "ACK delay")
        let additional = try VarInt.read(from: &buffer, field: "ACK range count")
        guard additional < UInt64(maxAckRangesDecoded) else { throw .invalidFrame("too many ACK ranges") }
        let firstLength = try VarInt.read(from: &buffer, field: "ACK first range")
        guard firstLength <= largest else { throw .invalidFrame("ACK range underflow") }
        var smallest = largest - firstLength
        var ranges: [ClosedRange<PacketNumber>] = []
        // Each further range takes at least 2 bytes: do not let a lying count size the array.
        ranges.reserveCapacity(1 + Swift.min(Int(additional), buffer.readableBytes / 2))
        ranges.append(smallest...largest)
        for _ in 0..<additional {
            let gap = try VarInt.read(from: &buffer, field: "ACK gap")
            let length = try VarInt.read(from: &buffer, field: "ACK range length")
            // Next largest = smallest - gap - 2 (at least one missing packet between ranges).
            guard smallest >= 2, gap <= smallest - 2 else { throw .invalidFrame("ACK range underflow") }
            let upper = smallest - gap - 2
            guard length <= upper else { throw .invalidFrame("ACK range underflow") }
            smallest = upper - length
            ranges.append(smallest...upper)
        }
        return AckFrame(ackDelayMicros: ackDelay, ranges: ranges)
    }

    private static func decodeStream(from buffer: inout ByteBuffer, fin: Bool) throws(WireError) -> StreamFrame {
        let id = try VarInt.read(from: &buffer, field: "STREAM stream ID")
        let offset = try VarInt.read(from: &buffer, field: "STREAM offset")
        let length = try VarInt.read(from: &buffer, field: "STREAM length")
        // Both are below 2^62, so the sum cannot overflow.
        guard offset + length <= maxStreamEnd else { throw .invalidFrame("stream end above 2^62") }
        guard length <= UInt64(buffer.readableBytes), let data = buffer.readSlice(length: Int(length)) else {
            throw .truncated("STREAM data")
        }
        return StreamFrame(id: StreamID(rawValue: id), offset: offset, data: data, fin: fin)
    }

    private static func decodeClose(from buffer: inout ByteBuffer) throws(WireError) -> Frame {
        let errorCode = try VarInt.read(from: &buffer, field: "CLOSE error code")
        let length = try VarInt.read(from: &buffer, field: "CLOSE reason length")
        guard length <= UInt64(maxReasonLength) else { throw .invalidFrame("reason too long") }
        guard let reasonBytes = buffer.readSlice(length: Int(length)) else { throw .truncated("CLOSE reason") }
        // Invalid UTF-8 is repaired (U+FFFD), which can lengthen it: cut again so the value
        // re-encodes to itself.
        var reason = reasonBytes.withUnsafeReadableBytes { String(decoding: $0, as: UTF8.self) }
        let wireLength = reasonWireLength(reason)
        if wireLength < reason.utf8.count {
            reason = String(decoding: reason.utf8.prefix(wireLength), as: UTF8.self)
        }
        return .close(errorCode: errorCode, reason: reason)
    }
}
