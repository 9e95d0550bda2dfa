// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// IPv6 text (RFC 4291 §2.2 in, RFC 5952 out) and the address classes candidate gathering and
/// punch scopes need. Pure: no sockets, so the core and its tests use it too.
extension NetAddress {
    /// Parses IPv6 text ("2001:db8::1", "::ffff:192.0.2.1"; no brackets, no zone); nil when
    /// malformed.
    package init?(ipv6 text: String, port: UInt16) {
        guard let (hi, lo) = Self.parseIPv6(Substring(text)) else { return nil }
        self.init(host: .v6(hi, lo), port: port)
    }

    /// An IPv4-mapped IPv6 address (::ffff:a.b.c.d, what a dual-stack socket reports for an
    /// IPv4 peer) as the IPv4 address it stands for; any other address unchanged.
    package var unmapped: NetAddress {
        guard case .v6(0, let lo) = host, lo >> 32 == 0xffff else { return self }
        return NetAddress(host: .v4(UInt32(truncatingIfNeeded: lo)), port: port)
    }

    package var isIPv6: Bool {
        if case .v6 = host { return true }
        return false
    }

    /// Classes of IPv6 unicast addresses, as candidate gathering treats them.
    package enum IPv6Class: Sendable, Equatable {
        /// 2000::/3: reachable across the internet (through a stateful firewall at most).
        case global
        /// fc00::/7 (ULA): a LAN address, like RFC 1918 space.
        case uniqueLocal
        /// fe80::/10: needs an interface scope; never a candidate.
        case linkLocal
        case loopback
        /// Unspecified, multicast, IPv4-mapped, documentation-free reserved space.
        case other
    }

    /// nil for IPv4.
    package var ipv6Class: IPv6Class? {
        guard case .v6(let hi, let lo) = host else { return nil }
        if hi == 0 && lo == 1 { return .loopback }
        switch hi >> 61 {
        case 0b001: return .global
        default: break
        }
        if hi >> 57 == 0x7E { return .uniqueLocal }  // fc00::/7
        if hi >> 54 == 0x3FA { return .linkLocal }  // fe80::/10
        return .other
    }

    /// RFC 5952: lowercase, no leading zeros, the longest run (>= 2) of zero groups as "::"
    /// (the first such run on a tie).
    static func ipv6Text(_ hi: UInt64, _ lo: UInt64) -> String {
        var groups: [UInt16] = []
        for shift in stride(from: 48, through: 0, by: -16) {
            groups.append(UInt16(truncatingIfNeeded: hi >> UInt64(shift)))
        }
        for shift in stride(from: 48, through: 0, by: -16) {
            groups.append(UInt16(truncatingIfNeeded: lo >> UInt64(shift)))
        }
        var bestStart = -1
        var bestLength = 0
        var start = -1
        for i in 0...8 {
            if i < 8 && groups[i] == 0 {
                if start < 0 { start = i }
            } else if start >= 0 {
                if i - start > bestLength {
                    bestStart = start
                    bestLength = i - start
                }
                start = -1
            }
        }
        func text(_ range: Range<Int>) -> String { groups[range].map { String($0, radix: 16) }.joined(separator: ":") }
        guard bestLength >= 2 else { return text(0..<8) }
        return text(0..<bestStart) + "::" + text((bestStart + bestLength)..<8)
    }

    /// Eight groups, or fewer around one "::"; the last 32 bits may be dotted IPv4.
    static func parseIPv6(_ text: Substring) -> (UInt64, UInt64)? {
        guard text.count <= 45, !text.isEmpty else { return nil }
        var head: [UInt16] = []
        var tail: [UInt16] = []
        let halves = text.components(separatedBy: "::")
        guard halves.count <= 2 else { return nil }
        func groups(_ part: Substring, allowIPv4: Bool) -> [UInt16]? {
            if part.isEmpty { return [] }
            let fields = part.split(separator: ":", omittingEmptySubsequences: false)
            var result: [UInt16] = []
            for (index, field) in fields.enumerated() {
                if allowIPv4, index == fields.count - 1, field.contains(".") {
                    guard let v4 = NetAddress(ipv4: String(field), port: 0), case .v4(let value) = v4.host else {
                        return nil
                    }
                    result.append(UInt16(value >> 16))
                    result.append(UInt16(value & 0xffff))
                } else {
                    guard (1...4).contains(field.count), let value = UInt16(field, radix: 16) else { return nil }
                    result.append(value)
                }
            }
            return result
        }
        if halves.count == 2 {
            guard let h = groups(halves[0], allowIPv4: false), let t = groups(halves[1], allowIPv4: true),
                h.count + t.count <= 7
            else { return nil }
            head = h
            tail = t
        } else {
            guard let all = groups(halves[0], allowIPv4: true), all.count == 8 else { return nil }
            head = all
        }
        let words = head + [UInt16](repeating: 0, count: 8 - head.count - tail.count) + tail
        var hi: UInt64 = 0
        var lo: UInt64 = 0
        for i in 0..<4 { hi = hi << 16 | UInt64(words[i]) }
        for i in 4..<8 { lo = lo << 16 | UInt64(words[i]) }
        return (hi, lo)
    }
}

extension Substring {
    /// Splits on a multi-character separator (no Foundation in the core).
    fileprivate func components(separatedBy separator: String) -> [Substring] {
        var result: [Substring] = []
        var rest = self[...]
        while let range = rest.firstRange(of: separator) {
            result.append(rest[..<range.lowerBound])
            rest = rest[range.upperBound...]
        }
        result.append(rest)
        return result
    }
}
