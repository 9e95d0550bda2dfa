// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore

/// The first bytes the client writes on every new stream: which TCP endpoint the device should
/// connect the stream to (`t2u_add_port` asks for the device itself, `_ex`/`_v3` for a host of
/// the device's LAN).
///
/// Wire layout (big-endian), 5 to 21 bytes:
///
///     magic/version  1   0xA1 (high nibble magic 0xA, low nibble version 1)
///     flags          1   no flag is defined yet: any set bit is rejected
///     host type      1   0 device itself, 4 IPv4, 6 IPv6
///     host           0 / 4 / 16
///     port           2   never 0
///
/// Parsing is incremental: the bytes may arrive in several stream reads, and `parse` says
/// exactly how many more it needs, so the reader never consumes payload that follows.
package struct StreamTargetHeader: Hashable, Sendable, CustomStringConvertible {
    package enum Host: Hashable, Sendable {
        /// The device itself (the manual's "127.0.0.1"): connected on loopback.
        case deviceSelf
        case address(NetAddress.Host)
    }

    package struct Flags: OptionSet, Hashable, Sendable {
        package let rawValue: UInt8
        package init(rawValue: UInt8) { self.rawValue = rawValue }
        /// Bits this version understands; the rest must be zero.
        package static let known: Flags = []
    }

    package var host: Host
    package var port: UInt16
    package var flags: Flags

    package init(host: Host, port: UInt16, flags: Flags = []) {
        self.host = host
        self.port = port
        self.flags = flags
    }

    /// `127.0.0.1:port` on the device.
    package static func deviceSelf(port: UInt16) -> StreamTargetHeader {
        StreamTargetHeader(host: .deviceSelf, port: port)
    }

    /// Magic 0xA in the high nibble, version in the low nibble.
    package static let magicVersion: UInt8 = 0xA1
    package static let minEncodedLength = 5
    package static let maxEncodedLength = 21

    static let hostTypeDeviceSelf: UInt8 = 0
    static let hostTypeIPv4: UInt8 = 4
    static let hostTypeIPv6: UInt8 = 6

    package var encodedLength: Int {
        switch host {
        case .deviceSelf: return 5
        case .address(.v4): return 9
        case .address(.v6): return 21
        }
    }

    @discardableResult
    package func encode(into buffer: inout ByteBuffer) -> Int {
        var written = buffer.writeInteger(Self.magicVersion)
        written += buffer.writeInteger(flags.rawValue)
        switch host {
        case .deviceSelf:
            written += buffer.writeInteger(Self.hostTypeDeviceSelf)
        case .address(.v4(let value)):
            written += buffer.writeInteger(Self.hostTypeIPv4)
            written += buffer.writeInteger(value)
        case .address(.v6(let hi, let lo)):
            written += buffer.writeInteger(Self.hostTypeIPv6)
            written += buffer.writeInteger(hi)
            written += buffer.writeInteger(lo)
        }
        written += buffer.writeInteger(port)
        return written
    }

    package func encoded() -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: encodedLength)
        encode(into: &buffer)
        return buffer
    }

    package enum ParseResult: Hashable, Sendable {
        /// The header; the buffer's reader index moved past it.
        case complete(StreamTargetHeader)
        /// At least `missing` more bytes are needed (exact once the host type is known);
        /// the buffer is untouched.
        case incomplete(missing: Int)
    }

    /// Parses a header from the front of `buffer`. Throws as soon as the bytes present are
    /// known to be invalid, even if incomplete.
    package static func parse(_ buffer: inout ByteBuffer) throws(StreamTargetHeaderError) -> ParseResult {
        let available = buffer.readableBytes
        let start = buffer.readerIndex
        guard let magic = buffer.getInteger(at: start, as: UInt8.self) else {
            return .incomplete(missing: minEncodedLength)
        }
        guard magic >> 4 == magicVersion >> 4 else { throw .badMagic(magic) }
        guard magic == magicVersion else { throw .unsupportedVersion(magic & 0x0F) }
        guard let rawFlags = buffer.getInteger(at: start + 1, as: UInt8.self) else {
            return .incomplete(missing: minEncodedLength - available)
        }
        let flags = Flags(rawValue: rawFlags)
        guard flags.isSubset(of: .known) else { throw .unknownFlags(rawFlags) }
        guard let hostType = buffer.getInteger(at: start + 2, as: UInt8.self) else {
            return .incomplete(missing: minEncodedLength - available)
        }
        let hostLength: Int
        switch hostType {
        case hostTypeDeviceSelf: hostLength = 0
        case hostTypeIPv4: hostLength = 4
        case hostTypeIPv6: hostLength = 16
        default: throw .unknownHostType(hostType)
        }
        let total = 3 + hostLength + 2
        guard available >= total else { return .incomplete(missing: total - available) }
        // Every read below is in bounds: `total` bytes are readable.
        let host: Host
        switch hostType {
        case hostTypeIPv4:
            guard let value = buffer.getInteger(at: start + 3, as: UInt32.self) else { return .incomplete(missing: 4) }
            host = .address(.v4(value))
        case hostTypeIPv6:
            guard let hi = buffer.getInteger(at: start + 3, as: UInt64.self),
                let lo = buffer.getInteger(at: start + 11, as: UInt64.self)
            else { return .incomplete(missing: 16) }
            host = .address(.v6(hi, lo))
        default:
            host = .deviceSelf
        }
        guard let port = buffer.getInteger(at: start + 3 + hostLength, as: UInt16.self) else {
            return .incomplete(missing: 2)
        }
        guard port != 0 else { throw .zeroPort }
        buffer.moveReaderIndex(forwardBy: total)
        return .complete(StreamTargetHeader(host: host, port: port, flags: flags))
    }

    package var description: String {
        switch host {
        case .deviceSelf: return "device:\(port)"
        case .address(let host): return NetAddress(host: host, port: port).description
        }
    }
}

/// Why a stream's target header (or reply) was rejected.
package enum StreamTargetHeaderError: Error, Hashable, Sendable {
    /// The first byte is not a t2u target header at all.
    case badMagic(UInt8)
    /// A t2u header of a version this build does not speak.
    case unsupportedVersion(UInt8)
    case unknownFlags(UInt8)
    case unknownHostType(UInt8)
    case zeroPort
    case unknownStatus(UInt8)
}

/// The device's first bytes back on a stream: whether it connected the requested target.
///
/// Wire layout: magic/version (as the header), status. On anything but `.ok` the device
/// finishes its side of the stream right after; the client closes its TCP connection.
package struct StreamTargetReply: Hashable, Sendable {
    package enum Status: UInt8, Hashable, Sendable, CaseIterable {
        case ok = 0
        /// The device's forwarding policy does not allow the target.
        case refusedByPolicy = 1
        /// The target answered with a reset (ECONNREFUSED): nothing listens there.
        case connectionRefused = 2
        /// No route to the target host or network.
        case unreachable = 3
        /// The TCP connect did not complete in time.
        case timedOut = 4
        /// The header was malformed or of an unsupported version.
        case badRequest = 5
        /// Any other local failure on the device (e.g. out of sockets).
        case failed = 6
    }

    package var status: Status

    package init(status: Status) { self.status = status }

    package static let encodedLength = 2

    @discardableResult
    package func encode(into buffer: inout ByteBuffer) -> Int {
        buffer.writeInteger(StreamTargetHeader.magicVersion) + buffer.writeInteger(status.rawValue)
    }

    package func encoded() -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: Self.encodedLength)
        encode(into: &buffer)
        return buffer
    }

    package enum ParseResult: Hashable, Sendable {
        case complete(StreamTargetReply)
        case incomplete(missing: Int)
    }

    /// Parses a reply from the front of `buffer` (same contract as `StreamTargetHeader.parse`).
    package static func parse(_ buffer: inout ByteBuffer) throws(StreamTargetHeaderError) -> ParseResult {
        let start = buffer.readerIndex
        guard let magic = buffer.getInteger(at: start, as: UInt8.self) else {
            return .incomplete(missing: encodedLength)
        }
        guard magic >> 4 == StreamTargetHeader.magicVersion >> 4 else { throw .badMagic(magic) }
        guard magic == StreamTargetHeader.magicVersion else { throw .unsupportedVersion(magic & 0x0F) }
        guard let rawStatus = buffer.getInteger(at: start + 1, as: UInt8.self) else {
            return .incomplete(missing: 1)
        }
        guard let status = Status(rawValue: rawStatus) else { throw .unknownStatus(rawStatus) }
        buffer.moveReaderIndex(forwardBy: encodedLength)
        return .complete(StreamTargetReply(status: status))
    }
}
