// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// Which TCP targets the device agent may connect a client's stream to.
///
/// The device itself (`StreamTargetHeader.Host.deviceSelf`, 127.0.0.1, ::1) is always
/// allowed: that is plain `t2u_add_port`. Any other host of the device's LAN (`_ex`, `_v3`)
/// needs an allowlist entry:
///
///     "203.0.113.5"                  one host, every port
///     "203.0.113.5:80"               one host, one port
///     "198.51.100.0/24:554,8000-8100" a network, a port list with ranges
///     "*:80"                         any host, port 80
///     "[2001:db8::/32]:443", "2001:db8::1"   IPv6 (brackets needed when ports follow)
///
/// IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) are matched as the IPv4 address they carry,
/// so they neither bypass nor escape an IPv4 rule.
package struct ForwardingPolicy: Hashable, Sendable {
    package struct Rule: Hashable, Sendable {
        package enum Network: Hashable, Sendable {
            case any
            case v4(address: UInt32, prefixLength: Int)
            case v6(high: UInt64, low: UInt64, prefixLength: Int)
        }

        package var network: Network
        /// nil: every port.
        package var ports: [ClosedRange<UInt16>]?

        package func matches(_ host: NetAddress.Host, port: UInt16) -> Bool {
            if let ports, !ports.contains(where: { $0.contains(port) }) { return false }
            switch (network, ForwardingPolicy.normalized(host)) {
            case (.any, _):
                return true
            case (.v4(let network, let length), .v4(let address)):
                let mask: UInt32 = length == 0 ? 0 : ~0 << UInt32(32 - length)
                return address & mask == network & mask
            case (.v6(let netHigh, let netLow, let length), .v6(let high, let low)):
                let highMask: UInt64 = length == 0 ? 0 : length >= 64 ? ~0 : ~0 << UInt64(64 - length)
                let lowMask: UInt64 = length <= 64 ? 0 : ~0 << UInt64(128 - length)
                return high & highMask == netHigh & highMask && low & lowMask == netLow & lowMask
            default:
                return false
            }
        }
    }

    package var rules: [Rule]

    /// Only the device itself.
    package static let deviceOnly = ForwardingPolicy(rules: [])

    package init(rules: [Rule]) { self.rules = rules }

    /// Parses allowlist entries (see the type's documentation); the error names the bad one.
    package init(entries: [String]) throws(ForwardingPolicyError) {
        var rules: [Rule] = []
        rules.reserveCapacity(entries.count)
        for entry in entries {
            rules.append(try Self.parseRule(entry))
        }
        self.rules = rules
    }

    /// Parses entries separated by whitespace, newlines or ";" (commas separate ports).
    package init(parsing text: String) throws(ForwardingPolicyError) {
        let entries = text.split(whereSeparator: { $0 == ";" || $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" })
        try self.init(entries: entries.map(String.init))
    }

    package func allows(_ host: NetAddress.Host, port: UInt16) -> Bool {
        if Self.isDeviceSelf(host) { return true }
        return rules.contains { $0.matches(host, port: port) }
    }

    package func allows(_ target: StreamTargetHeader) -> Bool {
        switch target.host {
        case .deviceSelf: return true
        case .address(let host): return allows(host, port: target.port)
        }
    }

    /// 127.0.0.1 and ::1, the addresses `t2u_add_port` means by "the device itself". Other
    /// 127/8 addresses need an entry, like any host: services can bind them separately.
    package static func isDeviceSelf(_ host: NetAddress.Host) -> Bool {
        switch normalized(host) {
        case .v4(let address): return address == 0x7F00_0001
        case .v6(let high, let low): return high == 0 && low == 1
        }
    }

    /// IPv4-mapped IPv6 (::ffff:a.b.c.d) as IPv4.
    static func normalized(_ host: NetAddress.Host) -> NetAddress.Host {
        if case .v6(0, let low) = host, low >> 32 == 0xFFFF {
            return .v4(UInt32(truncatingIfNeeded: low))
        }
        return host
    }

    // MARK: parsing

    static func parseRule(_ entry: String) throws(ForwardingPolicyError) -> Rule {
        func bad(_ reason: String) -> ForwardingPolicyError { .invalidEntry(entry, reason: reason) }
        let text = Substring(entry)
        guard !text.isEmpty else { throw bad("empty entry") }
        let hostText: Substring
        let portsText: Substring?
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { throw bad("missing ']'") }
            hostText = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            if rest.isEmpty {
                portsText = nil
            } else {
                guard rest.hasPrefix(":") else { throw bad("expected ':' after ']'") }
                portsText = rest.dropFirst()
            }
        } else if text.filter({ $0 == ":" }).count > 1 {
            hostText = text  // bare IPv6, no ports
            portsText = nil
        } else if let colon = text.firstIndex(of: ":") {
            hostText = text[..<colon]
            portsText = text[text.index(after: colon)...]
        } else {
            hostText = text
            portsText = nil
        }
        let network = try parseNetwork(hostText, entry: entry)
        let ports = try portsText.map { (ports) throws(ForwardingPolicyError) in try parsePorts(ports, entry: entry) }
        return Rule(network: network, ports: ports)
    }

    static func parseNetwork(_ text: Substring, entry: String) throws(ForwardingPolicyError) -> Rule.Network {
        func bad(_ reason: String) -> ForwardingPolicyError { .invalidEntry(entry, reason: reason) }
        if text == "*" { return .any }
        var addressText = text
        var prefixLength: Int?
        if let slash = text.firstIndex(of: "/") {
            addressText = text[..<slash]
            let lengthText = text[text.index(after: slash)...]
            guard !lengthText.isEmpty, lengthText.count <= 3, let length = Int(lengthText) else {
                throw bad("invalid prefix length '\(lengthText)'")
            }
            prefixLength = length
        }
        if addressText.contains(":") {
            guard let (high, low) = parseIPv6(addressText) else { throw bad("invalid IPv6 address '\(addressText)'") }
            let length = prefixLength ?? 128
            guard length <= 128 else { throw bad("IPv6 prefix length \(length) above 128") }
            if high == 0, low >> 32 == 0xFFFF, length >= 96 {
                return .v4(address: UInt32(truncatingIfNeeded: low), prefixLength: length - 96)
            }
            return .v6(high: high, low: low, prefixLength: length)
        }
        guard let address = NetAddress(ipv4: String(addressText), port: 0), case .v4(let value) = address.host else {
            throw bad("invalid IPv4 address '\(addressText)'")
        }
        let length = prefixLength ?? 32
        guard length <= 32 else { throw bad("IPv4 prefix length \(length) above 32") }
        return .v4(address: value, prefixLength: length)
    }

    static func parsePorts(_ text: Substring, entry: String) throws(ForwardingPolicyError) -> [ClosedRange<UInt16>] {
        func bad(_ reason: String) -> ForwardingPolicyError { .invalidEntry(entry, reason: reason) }
        func port(_ text: Substring) throws(ForwardingPolicyError) -> UInt16 {
            guard !text.isEmpty, text.count <= 5, text.allSatisfy({ $0 >= "0" && $0 <= "9" }), let value = UInt16(text),
                value != 0
            else {
                throw bad("invalid port '\(text)'")
            }
            return value
        }
        var ranges: [ClosedRange<UInt16>] = []
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            if let dash = item.firstIndex(of: "-") {
                let low = try port(item[..<dash])
                let high = try port(item[item.index(after: dash)...])
                guard low <= high else { throw bad("empty port range '\(item)'") }
                ranges.append(low...high)
            } else {
                let value = try port(item)
                ranges.append(value...value)
            }
        }
        return ranges
    }

    /// RFC 4291 text form: groups of 1-4 hex digits, one optional "::", an optional trailing
    /// dotted IPv4. nil when malformed.
    static func parseIPv6(_ text: Substring) -> (UInt64, UInt64)? {
        guard text.count <= 45 else { return nil }
        func groups(_ part: Substring, allowIPv4Tail: Bool) -> [UInt16]? {
            if part.isEmpty { return [] }
            let items = part.split(separator: ":", omittingEmptySubsequences: false)
            var result: [UInt16] = []
            for (index, item) in items.enumerated() {
                if allowIPv4Tail, index == items.count - 1, item.contains(".") {
                    guard let v4 = NetAddress(ipv4: String(item), port: 0), case .v4(let value) = v4.host else {
                        return nil
                    }
                    result.append(UInt16(value >> 16))
                    result.append(UInt16(value & 0xFFFF))
                } else {
                    guard !item.isEmpty, item.count <= 4, item.allSatisfy(\.isHexDigit),
                        let value = UInt16(item, radix: 16)
                    else { return nil }
                    result.append(value)
                }
            }
            return result
        }
        var words: [UInt16]
        if let range = text.firstRange(of: "::") {
            let head = text[..<range.lowerBound]
            let tail = text[range.upperBound...]
            guard !tail.contains("::"), let headWords = groups(head, allowIPv4Tail: false),
                let tailWords = groups(tail, allowIPv4Tail: true), headWords.count + tailWords.count <= 7
            else { return nil }
            words = headWords + Array(repeating: 0, count: 8 - headWords.count - tailWords.count) + tailWords
        } else {
            guard let all = groups(text, allowIPv4Tail: true), all.count == 8 else { return nil }
            words = all
        }
        var high: UInt64 = 0
        var low: UInt64 = 0
        for word in words[0..<4] { high = high << 16 | UInt64(word) }
        for word in words[4..<8] { low = low << 16 | UInt64(word) }
        return (high, low)
    }
}

package enum ForwardingPolicyError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The entry as given and why it was rejected.
    case invalidEntry(String, reason: String)

    package var description: String {
        switch self {
        case .invalidEntry(let entry, let reason): return "invalid forwarding entry '\(entry)': \(reason)"
        }
    }
}
