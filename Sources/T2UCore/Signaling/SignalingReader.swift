// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore

/// Bounds-checked cursor over a signaling datagram; every read names its field on failure.
struct SignalingReader {
    var buffer: ByteBuffer

    /// A big-endian integer of the caller's width, or `.truncated(field)`.
    private mutating func integer<T: FixedWidthInteger>(_ field: String) throws(SignalingParseError) -> T {
        guard let v = buffer.readInteger(as: T.self) else { throw .truncated(field) }
        return v
    }

    mutating func u8(_ field: String) throws(SignalingParseError) -> UInt8 { try integer(field) }
    mutating func u16(_ field: String) throws(SignalingParseError) -> UInt16 { try integer(field) }
    mutating func u32(_ field: String) throws(SignalingParseError) -> UInt32 { try integer(field) }
    mutating func u64(_ field: String) throws(SignalingParseError) -> UInt64 { try integer(field) }

    mutating func bool(_ field: String) throws(SignalingParseError) -> Bool {
        switch try u8(field) {
        case 0: return false
        case 1: return true
        default: throw .invalid(field)
        }
    }

    mutating func bytes(_ count: Int, _ field: String) throws(SignalingParseError) -> [UInt8] {
        guard let v = buffer.readBytes(length: count) else { throw .truncated(field) }
        return v
    }

    /// u8 length + UTF-8 bytes, 1...maxLength.
    mutating func shortString(_ field: String, maxLength: Int) throws(SignalingParseError) -> String {
        let length = Int(try u8(field))
        guard length >= 1, length <= maxLength else { throw .invalid(field) }
        let raw = try bytes(length, field)
        guard let text = String(validating: raw, as: UTF8.self) else { throw .invalid(field) }
        return text
    }

    /// A u8-length UUID that passes `DeviceUUID.isValid` (printable ASCII, 1-64 bytes).
    mutating func uuid(_ field: String) throws(SignalingParseError) -> String {
        let length = Int(try u8(field))
        let raw = try bytes(length, field)
        guard DeviceUUID.isValid(bytes: raw) else { throw .invalid(field) }
        return String(decoding: raw, as: UTF8.self)
    }

    /// The rest of the datagram as one AEAD ciphertext: at least a tag, at most the bound.
    mutating func encrypted(_ field: String) throws(SignalingParseError) -> [UInt8] {
        let count = buffer.readableBytes
        guard count >= SignalingLimits.tagLength else { throw .truncated(field) }
        guard count <= SignalingLimits.maxEncryptedLength else { throw .invalid(field) }
        return try bytes(count, field)
    }

    /// u16 length + bytes, at most maxLength.
    mutating func longBytes(_ field: String, maxLength: Int) throws(SignalingParseError) -> [UInt8] {
        let length = Int(try u16(field))
        guard length <= maxLength else { throw .invalid(field) }
        return try bytes(length, field)
    }

    /// family(1: 4 or 6) address(4 or 16) port(2).
    mutating func address(_ field: String) throws(SignalingParseError) -> NetAddress {
        switch try u8(field) {
        case 4:
            let ip = try u32(field)
            return NetAddress(host: .v4(ip), port: try u16(field))
        case 6:
            let hi = try u64(field)
            let lo = try u64(field)
            return NetAddress(host: .v6(hi, lo), port: try u16(field))
        default:
            throw .invalid(field)
        }
    }

    /// An appended NAT field: kind(1) delta(i32). Absent (no bytes left: an older sender) reads
    /// as `.unknown`; present but short or of an unknown kind is an error.
    mutating func optionalNAT() throws(SignalingParseError) -> NATBehavior {
        guard buffer.readableBytes > 0 else { return .unknown }
        let kind = try u8("nat")
        let delta = Int32(bitPattern: try u32("nat delta"))
        guard let nat = NATBehavior(wireKind: kind, delta: delta) else { throw .invalid("nat") }
        return nat
    }

    /// An appended punch delay: u16 milliseconds after the NAT field. Absent reads as zero; a
    /// value above `PunchOrder.maxWait` is capped.
    mutating func optionalPunchDelay() throws(SignalingParseError) -> Nanos {
        guard buffer.readableBytes > 0 else { return .zero }
        return .punchDelay(millis: try u16("punch delay"))
    }

    /// count(1) then addresses.
    mutating func addresses(_ field: String) throws(SignalingParseError) -> [NetAddress] {
        let count = Int(try u8(field))
        guard count <= SignalingLimits.maxCandidates else { throw .invalid(field) }
        var out: [NetAddress] = []
        out.reserveCapacity(count)
        for _ in 0..<count { out.append(try address(field)) }
        return out
    }
}

extension ByteBuffer {
    mutating func writeSignalingAddress(_ address: NetAddress) {
        switch address.host {
        case .v4(let ip):
            writeMultipleIntegers(UInt8(4), ip, address.port)
        case .v6(let hi, let lo):
            writeMultipleIntegers(UInt8(6), hi, lo, address.port)
        }
    }

    mutating func writeNAT(_ nat: NATBehavior) {
        writeMultipleIntegers(nat.wireKind, UInt32(bitPattern: nat.wireDelta))
    }

    /// Only when not zero: messages without a punch order keep their older layout.
    mutating func writePunchDelay(_ delay: Nanos) {
        let millis = delay.punchDelayMillis
        if millis > 0 { writeInteger(millis) }
    }

    mutating func writeSignalingAddresses(_ addresses: [NetAddress]) {
        let count = Swift.min(addresses.count, SignalingLimits.maxCandidates)
        writeInteger(UInt8(count))
        for address in addresses.prefix(count) { writeSignalingAddress(address) }
    }

    /// Strings longer than allowed are a programming error of the sender (validated earlier).
    mutating func writeShortString(_ text: String) {
        let utf8 = Array(text.utf8)
        writeInteger(UInt8(truncatingIfNeeded: utf8.count))
        writeBytes(utf8)
    }

    mutating func writeLongBytes(_ bytes: [UInt8]) {
        writeInteger(UInt16(truncatingIfNeeded: bytes.count))
        writeBytes(bytes)
    }

    /// Appends zero bytes until the datagram (from `start`) is at least `minimum` long.
    mutating func padSignaling(from start: Int, to minimum: Int) {
        let written = writerIndex - start
        if written < minimum { writeRepeatingByte(0, count: minimum - written) }
    }
}
