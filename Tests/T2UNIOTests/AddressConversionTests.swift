// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import T2UCore
import T2UNIO
import Testing

struct AddressConversionTests {
    @Test func addressConversionRoundTrips() throws {
        let v4 = NetAddress(ipv4: (192, 0, 2, 33), port: 4433)
        let socket4 = SocketAddress(v4)
        #expect(socket4.ipAddress == "192.0.2.33" && socket4.port == 4433)
        #expect(NetAddress(socket4) == v4)
        let v6 = try SocketAddress(ipAddress: "2001:db8::1:2", port: 9)
        let net6 = try #require(NetAddress(v6))
        #expect(net6.host == .v6(0x2001_0db8_0000_0000, 0x0000_0000_0001_0002))
        #expect(SocketAddress(net6) == v6)
    }

    /// A dual-stack socket reports an IPv4 peer as ::ffff:a.b.c.d and must send to it so; the
    /// core sees the IPv4 address only.
    @Test func mappedAddressesMeetTheCoreAsIPv4() throws {
        let mapped = try SocketAddress(ipAddress: "::ffff:198.51.100.7", port: 5000)
        let v4 = NetAddress(ipv4: (198, 51, 100, 7), port: 5000)
        #expect(NetAddress(mapped) == v4)
        #expect(SocketAddress(v4, forIPv6Socket: true) == mapped)
        #expect(SocketAddress(v4, forIPv6Socket: false) == SocketAddress(v4))
        let v6 = try #require(NetAddress(ipv6: "2001:db8::7", port: 5000))
        #expect(SocketAddress(v6, forIPv6Socket: true) == SocketAddress(v6))
    }
}
