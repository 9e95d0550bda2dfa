// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import T2UCore
import Testing

@testable import T2UDevice

/// What an IPv6 discovery reply names: an address of the interface the query came in on that a
/// client can use without a scope (global first, then unique-local), never a link-local one.
@Suite struct DiscoveryReplyAddressTests {
    static func host(_ text: String) -> NetAddress.Host {
        NetAddress(ipv6: text, port: 1)!.host
    }

    @Test func globalThenUniqueLocalOfThatInterfaceElseUnspecified() {
        let addresses: [(host: NetAddress.Host, index: Int)] = [
            (Self.host("fe80::1"), 2), (Self.host("fd00:db8::2"), 2), (Self.host("2001:db8:b::10"), 2),
            (Self.host("2001:db8:c::10"), 3), (Self.host("fe80::9"), 4),
        ]
        #expect(DiscoveryHandler.replyHostIPv6(interfaceIndex: 2, addresses: addresses) == Self.host("2001:db8:b::10"))
        #expect(
            DiscoveryHandler.replyHostIPv6(interfaceIndex: 2, addresses: Array(addresses.prefix(2)))
                == Self.host("fd00:db8::2"))
        #expect(DiscoveryHandler.replyHostIPv6(interfaceIndex: 3, addresses: addresses) == Self.host("2001:db8:c::10"))
        // Link-local only, or an interface we do not know: unspecified (the client names the source).
        #expect(DiscoveryHandler.replyHostIPv6(interfaceIndex: 4, addresses: addresses) == .v6(0, 0))
        #expect(DiscoveryHandler.replyHostIPv6(interfaceIndex: 9, addresses: addresses) == .v6(0, 0))
    }
}
