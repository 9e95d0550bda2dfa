// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore

/// QUIC variable-length integer (RFC 9000 §16): the two high bits of the first byte give the
/// length (1, 2, 4 or 8 bytes), the rest is the big-endian value, at most 2^62-1.
package enum VarInt {
    package static let max: UInt64 = (1 << 62) - 1

    @inlinable
    package static func encodedLength(_ value: UInt64) -> Int {
        if value < (1 << 6) { return 1 }
        if value < (1 << 14) { return 2 }
        if value < (1 << 30) { return 4 }
        return 8
    }

    /// Writes the shortest encoding. `value` is local data, so a value above `max` is a bug.
    @inlinable
    package static func write(_ value: UInt64, to buffer: inout ByteBuffer) {
        if value < (1 << 6) {
            buffer.writeInteger(UInt8(truncatingIfNeeded: value))
        } else if value < (1 << 14) {
            buffer.writeInteger(UInt16(truncatingIfNeeded: value) | 0x4000)
        } else if value < (1 << 30) {
            buffer.writeInteger(UInt32(truncatingIfNeeded: value) | 0x8000_0000)
        } else {
            precondition(value <= max, "VarInt value \(value) above 2^62-1")
            buffer.writeInteger(value | 0xC000_0000_0000_0000)
        }
    }

    /// Reads and consumes one integer (any encoding length, as RFC 9000 allows). On error the
    /// buffer is unchanged.
    @inlinable
    package static func read(from buffer: inout ByteBuffer) throws(WireError) -> UInt64 {
        try read(from: &buffer, field: "varint")
    }

    /// As `read(from:)`, naming `field` in the truncation error.
    @inlinable
    static func read(from buffer: inout ByteBuffer, field: String) throws(WireError) -> UInt64 {
        guard let first = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) else {
            throw .truncated(field)
        }
        switch first >> 6 {
        case 0:
            buffer.moveReaderIndex(forwardBy: 1)
            return UInt64(first)
        case 1:
            guard let v = buffer.readInteger(as: UInt16.self) else { throw .truncated(field) }
            return UInt64(v & 0x3FFF)
        case 2:
            guard let v = buffer.readInteger(as: UInt32.self) else { throw .truncated(field) }
            return UInt64(v & 0x3FFF_FFFF)
        default:
            guard let v = buffer.readInteger(as: UInt64.self) else { throw .truncated(field) }
            return v & max
        }
    }
}
