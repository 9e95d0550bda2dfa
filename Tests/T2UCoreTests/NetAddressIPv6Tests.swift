// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Testing

@testable import T2UCore

/// IPv6 text in (RFC 4291) and out (RFC 5952), mapped addresses, and the classes candidate
/// gathering sorts addresses into.
@Suite struct NetAddressIPv6Tests {
    static func v6(_ text: String) -> NetAddress.Host? { NetAddress(ipv6: text, port: 0)?.host }

    @Test func parsesTheRFC4291Forms() {
        #expect(Self.v6("2001:db8::1") == .v6(0x2001_0db8_0000_0000, 1))
        #expect(Self.v6("2001:DB8:0:0:0:0:0:1") == .v6(0x2001_0db8_0000_0000, 1))
        #expect(Self.v6("::") == .v6(0, 0))
        #expect(Self.v6("::1") == .v6(0, 1))
        #expect(Self.v6("fe80::") == .v6(0xfe80_0000_0000_0000, 0))
        #expect(Self.v6("::ffff:192.0.2.1") == .v6(0, 0xffff_c000_0201))
        #expect(Self.v6("2001:db8:1:2:3:4:5:6") == .v6(0x2001_0db8_0001_0002, 0x0003_0004_0005_0006))
        #expect(Self.v6("2001:db8::1:0:0:1") == .v6(0x2001_0db8_0000_0000, 0x0001_0000_0000_0001))
    }

    @Test func refusesMalformedText() {
        for bad in [
            "", ":", ":::", "1::2::3", "2001:db8:1:2:3:4:5:6:7", "2001:db8:1:2:3:4:5", "12345::", "g::1",
            "2001:db8::1%eth0", "[2001:db8::1]", "1.2.3.4", "::1.2.3", "::1.2.3.4:5", "2001:db8:1:2:3:4:5::6",
        ] {
            #expect(NetAddress(ipv6: bad, port: 0) == nil, "'\(bad)' should not parse")
        }
    }

    /// RFC 5952 §4: shortest form, longest zero run compressed (the first on a tie), single zero
    /// groups left alone, lowercase.
    @Test func formatsAsRFC5952() {
        let cases: [(String, String)] = [
            ("2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
            ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
            ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),
            ("2001:0:0:1:0:0:0:1", "2001:0:0:1::1"),
            ("0:0:0:0:0:0:0:0", "::"),
            ("0:0:0:0:0:0:0:1", "::1"),
            ("1:0:0:0:0:0:0:0", "1::"),
            ("FE80:0:0:0:AB:CD:EF:1", "fe80::ab:cd:ef:1"),
        ]
        for (input, want) in cases {
            let address = NetAddress(ipv6: input, port: 7000)
            #expect(address?.hostString == want, "\(input)")
            #expect(address?.description == "[\(want)]:7000")
            #expect(NetAddress(ipv6: want, port: 7000) == address, "\(want) must parse back to the same address")
        }
    }

    @Test func mappedAddressesAreIPv4() throws {
        let mapped = try #require(NetAddress(ipv6: "::ffff:203.0.113.9", port: 5))
        #expect(mapped.unmapped == NetAddress(ipv4: (203, 0, 113, 9), port: 5))
        let native = try #require(NetAddress(ipv6: "2001:db8::ffff:cb00:7109", port: 5))
        #expect(native.unmapped == native, "only ::ffff:0:0/96 is mapped")
        #expect(NetAddress(ipv4: (192, 0, 2, 1), port: 1).unmapped == NetAddress(ipv4: (192, 0, 2, 1), port: 1))
    }

    @Test func classifiesAddressesForCandidates() {
        func kind(_ text: String) -> NetAddress.IPv6Class? { NetAddress(ipv6: text, port: 0)?.ipv6Class }
        #expect(kind("2001:db8::1") == .global)
        #expect(kind("2a00:1450::5") == .global)
        #expect(kind("3fff::1") == .global)
        #expect(kind("fd12:3456::1") == .uniqueLocal)
        #expect(kind("fc00::1") == .uniqueLocal)
        #expect(kind("fe80::1") == .linkLocal)
        #expect(kind("febf::1") == .linkLocal)
        #expect(kind("::1") == .loopback)
        #expect(kind("::") == .other)
        #expect(kind("ff02::1") == .other)
        #expect(kind("::ffff:192.0.2.1") == .other)
        #expect(NetAddress(ipv4: (192, 0, 2, 1), port: 0).ipv6Class == nil)
    }
}
