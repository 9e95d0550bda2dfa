// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import T2UCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Conversions between the core's plain `NetAddress` and NIO's `SocketAddress`.
extension NetAddress {
    /// nil for Unix domain sockets. An IPv4-mapped IPv6 address (a dual-stack socket's view of
    /// an IPv4 peer) becomes the IPv4 address: the core sees one spelling per peer.
    package init?(_ address: SocketAddress) {
        switch address {
        case .v4(let v4):
            self.init(
                host: .v4(UInt32(bigEndian: v4.address.sin_addr.s_addr)), port: UInt16(bigEndian: v4.address.sin_port))
        case .v6(let v6):
            var bytes = v6.address.sin6_addr
            let (hi, lo) = withUnsafeBytes(of: &bytes) { raw -> (UInt64, UInt64) in
                var hi: UInt64 = 0
                var lo: UInt64 = 0
                for i in 0..<8 { hi = hi << 8 | UInt64(raw[i]) }
                for i in 8..<16 { lo = lo << 8 | UInt64(raw[i]) }
                return (hi, lo)
            }
            self = NetAddress(host: .v6(hi, lo), port: UInt16(bigEndian: v6.address.sin6_port)).unmapped
        case .unixDomainSocket:
            return nil
        }
    }
}

extension SocketAddress {
    /// `address` as a destination for a socket of family `inet6`: IPv4 as ::ffff:a.b.c.d (a
    /// dual-stack socket sends to IPv4 peers only so), anything else unchanged.
    package init(_ address: NetAddress, forIPv6Socket: Bool) {
        guard forIPv6Socket, case .v4(let value) = address.host else {
            self.init(address)
            return
        }
        self.init(NetAddress(host: .v6(0, 0xffff_0000_0000 | UInt64(value)), port: address.port))
    }

    package init(_ address: NetAddress) {
        switch address.host {
        case .v4(let value):
            var raw = sockaddr_in()
            raw.sin_family = sa_family_t(AF_INET)
            raw.sin_port = address.port.bigEndian
            raw.sin_addr.s_addr = value.bigEndian
            self.init(raw, host: address.hostString)
        case .v6(let hi, let lo):
            var raw = sockaddr_in6()
            raw.sin6_family = sa_family_t(AF_INET6)
            raw.sin6_port = address.port.bigEndian
            withUnsafeMutableBytes(of: &raw.sin6_addr) { bytes in
                for i in 0..<8 {
                    bytes[i] = UInt8(truncatingIfNeeded: hi >> UInt64(56 - 8 * i))
                    bytes[8 + i] = UInt8(truncatingIfNeeded: lo >> UInt64(56 - 8 * i))
                }
            }
            self.init(raw, host: address.hostString)
        }
    }
}
