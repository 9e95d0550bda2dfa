import NIOCore
import T2UCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// Minimal NetAddress <-> SocketAddress conversion for the UDP fast path. Internal and
// distinctly named so it cannot collide with the public AddressConversion.swift (another
// helper's file); switch callers over once that lands.

/// The `NetAddress` of an IP socket address; nil for Unix domain sockets.
@inline(__always)
func nioNetAddress(_ address: SocketAddress) -> NetAddress? {
    switch address {
    case .v4(let v4):
        return NetAddress(
            host: .v4(UInt32(bigEndian: v4.address.sin_addr.s_addr)),
            port: UInt16(bigEndian: v4.address.sin_port)
        )
    case .v6(let v6):
        var storage = v6.address.sin6_addr
        let (hi, lo) = withUnsafeBytes(of: &storage) { raw -> (UInt64, UInt64) in
            var hi: UInt64 = 0
            var lo: UInt64 = 0
            for i in 0..<8 { hi = hi << 8 | UInt64(raw[i]) }
            for i in 8..<16 { lo = lo << 8 | UInt64(raw[i]) }
            return (hi, lo)
        }
        return NetAddress(host: .v6(hi, lo), port: UInt16(bigEndian: v6.address.sin6_port))
    case .unixDomainSocket:
        return nil
    }
}

/// The `SocketAddress` of a `NetAddress` (no DNS, no string parsing).
func nioSocketAddress(_ address: NetAddress) -> SocketAddress {
    switch address.host {
    case .v4(let host):
        var sin = sockaddr_in()
        sin.sin_family = sa_family_t(AF_INET)
        sin.sin_port = address.port.bigEndian
        sin.sin_addr.s_addr = host.bigEndian
        return SocketAddress(sin, host: address.hostString)
    case .v6(let hi, let lo):
        var sin6 = sockaddr_in6()
        sin6.sin6_family = sa_family_t(AF_INET6)
        sin6.sin6_port = address.port.bigEndian
        withUnsafeMutableBytes(of: &sin6.sin6_addr) { raw in
            for i in 0..<8 { raw[i] = UInt8(truncatingIfNeeded: hi >> UInt64((7 - i) * 8)) }
            for i in 0..<8 { raw[8 + i] = UInt8(truncatingIfNeeded: lo >> UInt64((7 - i) * 8)) }
        }
        return SocketAddress(sin6, host: address.hostString)
    }
}

/// Remembers the last conversion: a connection sends most datagrams to one peer, so the
/// per-datagram `SocketAddress` construction (which formats a host string) runs once.
struct SocketAddressCache {
    private var lastNet: NetAddress?
    private var lastSocket: SocketAddress?

    mutating func socketAddress(for address: NetAddress) -> SocketAddress {
        if let lastNet, lastNet == address, let lastSocket { return lastSocket }
        let converted = nioSocketAddress(address)
        lastNet = address
        lastSocket = converted
        return converted
    }
}
