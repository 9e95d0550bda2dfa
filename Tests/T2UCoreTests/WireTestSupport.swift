// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore

@testable import T2UCore

/// Shared sample values for wire and fuzz tests.
enum WireSamples {
    /// Varint edge values: each side of every encoding-length boundary and the maximum.
    static let edges: [UInt64] = [0, 63, 64, 16383, 16384, (1 << 30) - 1, 1 << 30, VarInt.max]

    static func stream(id: UInt64, offset: UInt64, _ bytes: [UInt8], fin: Bool) -> Frame {
        .stream(StreamFrame(id: StreamID(rawValue: id), offset: offset, data: ByteBuffer(bytes: bytes), fin: fin))
    }

    /// One or more frames of every kind, with edge values in every field.
    static let frames: [Frame] = {
        var frames: [Frame] = [.padding(length: 1), .padding(length: 7), .ping]
        for e in edges {
            frames.append(.ack(AckFrame(ackDelayMicros: e, ranges: [e...e])))
            frames.append(.ack(AckFrame(ackDelayMicros: 0, ranges: [0...e])))
            frames.append(stream(id: e, offset: 0, [1, 2, 3], fin: false))
            frames.append(stream(id: 4, offset: e == VarInt.max ? e - 1 : e, [0xAA], fin: true))
            frames.append(.resetStream(id: StreamID(rawValue: e), errorCode: e, finalSize: e))
            frames.append(.maxData(e))
            frames.append(.maxStreamData(id: StreamID(rawValue: e), maximum: e))
            frames.append(.maxStreams(e))
            frames.append(.dataBlocked(limit: e))
            frames.append(.streamDataBlocked(id: StreamID(rawValue: e), limit: e))
            frames.append(.close(errorCode: e, reason: "bye"))
        }
        frames += [
            .ack(AckFrame(ackDelayMicros: 25, ranges: [100...110, 90...97, 0...88])),
            .ack(AckFrame(ackDelayMicros: 1, ranges: [VarInt.max...VarInt.max, 0...(VarInt.max - 2)])),
            .ack(AckFrame(ackDelayMicros: 3, ranges: manyRanges(256))),
            stream(id: 0, offset: 0, [], fin: false),
            stream(id: 1, offset: 0, [], fin: true),
            stream(id: 2, offset: VarInt.max, [0x55], fin: true),  // ends exactly at 2^62
            stream(id: 3, offset: 1 << 40, Array(repeating: 0x5A, count: 1200), fin: false),
            .pathChallenge(0), .pathChallenge(UInt64.max), .pathResponse(0x0123_4567_89AB_CDEF),
            .close(errorCode: 0, reason: ""),
            .close(errorCode: TransportErrorCode.protocolViolation.rawValue, reason: "héllo ✓ 🚀"),
            .close(errorCode: 7, reason: String(repeating: "x", count: 255)),
            .keyUpdate(KeyUpdateFrame(isResponse: false, sequence: 1, publicKey: Array(repeating: 9, count: 32))),
            .keyUpdate(KeyUpdateFrame(isResponse: true, sequence: VarInt.max, publicKey: Array(0..<32))),
        ]
        return frames
    }()

    /// `count` descending ranges of 2 packets separated by gaps of 1, newest first.
    static func manyRanges(_ count: Int, top: UInt64 = 1_000_000) -> [ClosedRange<PacketNumber>] {
        (0..<UInt64(count)).map { i in (top - 3 * i - 1)...(top - 3 * i) }
    }

    static func encode(_ frames: [Frame]) -> ByteBuffer {
        var buffer = ByteBuffer()
        for frame in frames { FrameCodec.encode(frame, into: &buffer) }
        return buffer
    }

    static func bytes(_ frame: Frame) -> [UInt8] { Array(encode([frame]).readableBytesView) }
}

extension WireError {
    var isTruncated: Bool {
        if case .truncated = self { return true }
        return false
    }
}

/// Decodes one frame from `bytes`, returning the error instead of throwing.
func decodeResult(_ bytes: [UInt8]) -> Result<Frame, WireError> {
    var buffer = ByteBuffer(bytes: bytes)
    do { return .success(try FrameCodec.decode(from: &buffer)) } catch { return .failure(error) }
}
