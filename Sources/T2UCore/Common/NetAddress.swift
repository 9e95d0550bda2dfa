// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// A UDP/TCP endpoint address (IPv4 or IPv6 plus port) as a plain value. The core identifies paths
/// with it; the NIO shell converts to and from `SocketAddress`.
public struct NetAddress: Hashable, Sendable, CustomStringConvertible {
    public enum Host: Hashable, Sendable {
        case v4(UInt32)  // host byte order: 192.0.2.1 == 0xC000_0201
        case v6(UInt64, UInt64)  // high, low 64 bits, host byte order

        /// 127.0.0.0/8 or ::1.
        public var isLoopback: Bool {
            switch self {
            case .v4(let value): value >> 24 == 127
            case .v6(let high, let low): high == 0 && low == 1
            }
        }
    }

    public var host: Host
    public var port: UInt16

    public init(host: Host, port: UInt16) {
        self.host = host
        self.port = port
    }

    /// IPv4 from four octets, e.g. `NetAddress(ipv4: (127, 0, 0, 1), port: 9000)`.
    public init(ipv4 a: (UInt8, UInt8, UInt8, UInt8), port: UInt16) {
        self.host = .v4(UInt32(a.0) << 24 | UInt32(a.1) << 16 | UInt32(a.2) << 8 | UInt32(a.3))
        self.port = port
    }

    /// Parses dotted-quad IPv4 ("192.0.2.1"); nil when malformed (IPv6: `init?(ipv6:port:)`).
    public init?(ipv4 text: String, port: UInt16) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var value: UInt32 = 0
        for part in parts {
            guard !part.isEmpty, part.count <= 3, let octet = UInt8(part) else { return nil }
            value = value << 8 | UInt32(octet)
        }
        self.host = .v4(value)
        self.port = port
    }

    public var hostString: String {
        switch host {
        case .v4(let v):
            return "\(v >> 24).\(v >> 16 & 0xff).\(v >> 8 & 0xff).\(v & 0xff)"
        case .v6(let hi, let lo):
            return Self.ipv6Text(hi, lo)
        }
    }

    public var description: String {
        switch host {
        case .v4: return "\(hostString):\(port)"
        case .v6: return "[\(hostString)]:\(port)"
        }
    }
}
