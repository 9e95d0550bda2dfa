// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// One subnet of the host's own interfaces (interface address + prefix length, read by the
/// shell from getifaddrs). The device punches client candidates and answers discovery only
/// inside these (docs/SECURITY.md §4).
public struct LocalSubnet: Hashable, Sendable, CustomStringConvertible {
    public let host: NetAddress.Host
    public let prefixLength: Int

    /// Prefixes wider than these are read as the host alone: a netmask of 0.0.0.0 (or a /4)
    /// would otherwise put the whole internet "on our LAN" (fail closed).
    public static let widestIPv4Prefix = 8
    public static let widestIPv6Prefix = 32

    public init(host: NetAddress.Host, prefixLength: Int) {
        self.host = host
        switch host {
        case .v4: self.prefixLength = prefixLength < Self.widestIPv4Prefix || prefixLength > 32 ? 32 : prefixLength
        case .v6: self.prefixLength = prefixLength < Self.widestIPv6Prefix || prefixLength > 128 ? 128 : prefixLength
        }
    }

    /// The subnet of `host` whose mask is `netmask` (contiguous or not: the leading ones count).
    public init(host: NetAddress.Host, netmask: NetAddress.Host) {
        let ones: Int
        switch (host, netmask) {
        case (.v4, .v4(let mask)): ones = (~mask).leadingZeroBitCount
        case (.v6, .v6(let high, let low)):
            ones = high == .max ? 64 + (~low).leadingZeroBitCount : (~high).leadingZeroBitCount
        default: ones = .max  // a mask of the other family: the host alone
        }
        self.init(host: host, prefixLength: ones)
    }

    /// Whether `other` is in this subnet (same family, same network bits).
    public func contains(_ other: NetAddress.Host) -> Bool {
        switch (host, other) {
        case (.v4(let mine), .v4(let theirs)):
            let mask: UInt32 = prefixLength == 0 ? 0 : ~UInt32(0) << UInt32(32 - prefixLength)
            return mine & mask == theirs & mask
        case (.v6(let myHigh, let myLow), .v6(let theirHigh, let theirLow)):
            let highMask: UInt64 =
                prefixLength >= 64 ? .max : (prefixLength == 0 ? 0 : ~UInt64(0) << UInt64(64 - prefixLength))
            let lowMask: UInt64 =
                prefixLength <= 64 ? 0 : (prefixLength == 128 ? .max : ~UInt64(0) << UInt64(128 - prefixLength))
            return myHigh & highMask == theirHigh & highMask && myLow & lowMask == theirLow & lowMask
        default:
            return false
        }
    }

    /// A unicast host of this subnet: inside it, and for IPv4 subnets of /30 and wider neither
    /// the network nor the broadcast address (a punch there would reach every host).
    public func containsUnicast(_ other: NetAddress.Host) -> Bool {
        guard contains(other) else { return false }
        guard case .v4(let value) = other, prefixLength <= 30 else { return true }
        let hostBits = ~(~UInt32(0) << UInt32(32 - prefixLength))
        return value & hostBits != 0 && value & hostBits != hostBits
    }

    public var description: String {
        "\(NetAddress(host: host, port: 0).hostString)/\(prefixLength)"
    }
}

extension Array where Element == LocalSubnet {
    /// Whether `host` is a unicast host on one of these subnets.
    public func containsUnicast(_ host: NetAddress.Host) -> Bool {
        contains { $0.containsUnicast(host) }
    }
}
