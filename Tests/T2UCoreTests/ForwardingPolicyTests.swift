// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Testing

@testable import T2UCore

@Suite("ForwardingPolicy")
struct ForwardingPolicyTests {
    static func v4(_ text: String) -> NetAddress.Host { NetAddress(ipv4: text, port: 0)!.host }

    @Test("the device itself is always allowed, other hosts only by an entry")
    func deviceSelf() {
        let policy = ForwardingPolicy.deviceOnly
        #expect(policy.allows(Self.v4("127.0.0.1"), port: 554))
        #expect(policy.allows(.v6(0, 1), port: 80))
        #expect(policy.allows(.v6(0, 0xFFFF_7F00_0001), port: 80))  // ::ffff:127.0.0.1
        #expect(policy.allows(.deviceSelf(port: 1)))
        #expect(!policy.allows(Self.v4("127.0.0.2"), port: 554))
        #expect(!policy.allows(Self.v4("203.0.113.10"), port: 80))
        #expect(!policy.allows(StreamTargetHeader(host: .address(Self.v4("198.51.100.1")), port: 80)))
    }

    @Test("entries: single host, host:port, network with port list and ranges, wildcard host")
    func matching() throws {
        let policy = try ForwardingPolicy(entries: [
            "203.0.113.5", "192.0.2.7:80", "198.51.100.0/24:554,8000-8100", "*:8443",
        ])
        #expect(policy.allows(Self.v4("203.0.113.5"), port: 1))
        #expect(policy.allows(Self.v4("203.0.113.5"), port: 65535))
        #expect(!policy.allows(Self.v4("203.0.113.6"), port: 1))
        #expect(policy.allows(Self.v4("192.0.2.7"), port: 80))
        #expect(!policy.allows(Self.v4("192.0.2.7"), port: 81))
        #expect(policy.allows(Self.v4("198.51.100.0"), port: 554))
        #expect(policy.allows(Self.v4("198.51.100.255"), port: 8000))
        #expect(policy.allows(Self.v4("198.51.100.9"), port: 8100))
        #expect(!policy.allows(Self.v4("198.51.100.9"), port: 8101))
        #expect(!policy.allows(Self.v4("198.51.100.9"), port: 555))
        #expect(!policy.allows(Self.v4("198.51.101.9"), port: 554))
        #expect(policy.allows(Self.v4("8.8.8.8"), port: 8443))
        #expect(policy.allows(.v6(0x2001_0DB8_0000_0000, 5), port: 8443))
        #expect(!policy.allows(Self.v4("8.8.8.8"), port: 8444))
        // IPv4-mapped IPv6 is judged as its IPv4 address.
        #expect(policy.allows(.v6(0, 0xFFFF_C000_0207), port: 80))
        #expect(!policy.allows(.v6(0, 0xFFFF_C000_0207), port: 81))
    }

    @Test("IPv6 entries, with and without brackets and prefixes")
    func ipv6() throws {
        let policy = try ForwardingPolicy(
            parsing: "[2001:db8::/32]:443 fe80::1;[::ffff:100.64.0.0/106]:22\n0.0.0.0/0:7")
        #expect(policy.allows(.v6(0x2001_0DB8_FFFF_0000, 9), port: 443))
        #expect(!policy.allows(.v6(0x2001_0DB9_0000_0000, 9), port: 443))
        #expect(!policy.allows(.v6(0x2001_0DB8_0000_0000, 9), port: 80))
        #expect(policy.allows(.v6(0xFE80_0000_0000_0000, 1), port: 9))
        #expect(!policy.allows(.v6(0xFE80_0000_0000_0000, 2), port: 9))
        #expect(policy.allows(Self.v4("100.100.1.1"), port: 22))  // the mapped /106 is 100.64.0.0/10
        #expect(!policy.allows(Self.v4("100.128.0.1"), port: 22))
        #expect(policy.allows(Self.v4("100.128.0.1"), port: 7))
        #expect(!policy.allows(.v6(0x2001_0DB8_0000_0000, 9), port: 7), "an IPv4 rule never matches IPv6")
        #expect(policy.rules.count == 4)
    }

    @Test("IPv6 text forms")
    func ipv6Parsing() {
        #expect(ForwardingPolicy.parseIPv6("::") ?? (1, 1) == (0, 0))
        #expect(ForwardingPolicy.parseIPv6("::1") ?? (1, 1) == (0, 1))
        #expect(ForwardingPolicy.parseIPv6("1::") ?? (0, 0) == (0x0001_0000_0000_0000, 0))
        #expect(
            ForwardingPolicy.parseIPv6("1:2:3:4:5:6:7:8") ?? (0, 0) == (0x0001_0002_0003_0004, 0x0005_0006_0007_0008))
        #expect(ForwardingPolicy.parseIPv6("::ffff:192.0.2.1") ?? (0, 0) == (0, 0xFFFF_C000_0201))
        for bad in [
            "1:2:3:4:5:6:7", "1:2:3:4:5:6:7:8:9", "1::2::3", ":1:2:3:4:5:6:7", "12345::", "g::", "1:2:3:4:5:6:7::8",
            "::1.2.3",
        ] {
            #expect(ForwardingPolicy.parseIPv6(Substring(bad)) == nil, "\(bad)")
        }
    }

    @Test(
        "parse errors name the bad entry",
        arguments: [
            "", "1.2.3", "1.2.3.4:", "1.2.3.4:0", "1.2.3.4:70000", "1.2.3.4/33", "1.2.3.4:10-5", "1.2.3.4:80,",
            "[::1", "[::1]80", "::g", "*:abc", "*/8", "1.2.3.4:+80", "host.example:80", "1.2.3.4/", "[2001:db8::/129]",
        ])
    func parseErrors(entry: String) {
        do {
            _ = try ForwardingPolicy(entries: ["198.51.100.1", entry])
            Issue.record("'\(entry)' parsed")
        } catch {
            guard case .invalidEntry(let named, let reason) = error else { return }
            #expect(named == entry)
            #expect(!reason.isEmpty)
            #expect(error.description.contains("'\(entry)'"))
        }
    }
}
