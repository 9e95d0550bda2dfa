// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import T2UCore
import T2UNIO
import Testing

@Suite struct ServerAddressListTests {
    @Test func listsLiteralsAndNamesInOrderWithDefaultPorts() throws {
        let list = try ServerAddressList.resolve(
            "192.0.2.1:7000, 192.0.2.2,[2001:db8::1]:7100,192.0.2.1:7000", defaultPort: 7005)
        #expect(
            list == [
                NetAddress(ipv4: (192, 0, 2, 1), port: 7000), NetAddress(ipv4: (192, 0, 2, 2), port: 7005),
                NetAddress(host: .v6(0x2001_0db8_0000_0000, 1), port: 7100),
            ])
        #expect(
            try ServerAddressList.resolve("localhost", defaultPort: 7000).contains(
                NetAddress(ipv4: (127, 0, 0, 1), port: 7000)))
        #expect(
            try ServerAddressList.resolve("2001:db8::2", defaultPort: 9) == [
                NetAddress(host: .v6(0x2001_0db8_0000_0000, 2), port: 9)
            ])
    }

    @Test func badEntriesSayWhatIsWrong() {
        #expect(throws: ServerAddressList.Failure.empty) { try ServerAddressList.resolve(" , ", defaultPort: 7000) }
        #expect(throws: ServerAddressList.Failure.badEntry("192.0.2.1:70000")) {
            try ServerAddressList.resolve("192.0.2.1:70000", defaultPort: 7000)
        }
        #expect(throws: ServerAddressList.Failure.badEntry("192.0.2.1:0")) {
            try ServerAddressList.resolve("192.0.2.1:0", defaultPort: 7000)
        }
        #expect(throws: ServerAddressList.Failure.unresolvable("no-such-host.invalid")) {
            try ServerAddressList.resolve("no-such-host.invalid:7000", defaultPort: 7000)
        }
        #expect(ServerAddressList.literal("198.51.100.7:7000") == NetAddress(ipv4: (198, 51, 100, 7), port: 7000))
        #expect(ServerAddressList.literal("198.51.100.7") == nil)
        #expect(ServerAddressList.literal("example.com:7000") == nil)
    }
}
