// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import T2UCore
import T2UNIO
import Testing

@Suite struct LocalAddressesTests {
    /// The loopback interface's netmask is read (127.0.0.1/8), and every IPv4 interface address
    /// is inside its own subnet: the scope the device punches and answers discovery in.
    @Test func subnetsCarryTheInterfacesNetmasks() {
        let subnets = LocalAddresses.subnets()
        let loopback = NetAddress(ipv4: (127, 0, 0, 1), port: 0).host
        #expect(subnets.contains(LocalSubnet(host: loopback, prefixLength: 8)), "\(subnets)")
        #expect(subnets.containsUnicast(NetAddress(ipv4: (127, 0, 0, 9), port: 0).host))
        for interface in LocalAddresses.ipv4Interfaces() {
            #expect(subnets.contains { $0.contains(interface.address) }, "\(interface.address) outside \(subnets)")
        }
        #expect(
            !subnets.containsUnicast(NetAddress(ipv4: (198, 51, 100, 1), port: 0).host),
            "TEST-NET-2 is on no host's LAN")
    }
}

/// Which interface addresses become candidates (`LocalAddresses.candidates(from:port:server:)`).
@Suite struct CandidateGatheringTests {
    static func host(_ text: String) -> NetAddress.Host {
        (NetAddress(ipv4: text, port: 0) ?? NetAddress(ipv6: text, port: 0)!).host
    }
    static let server4 = NetAddress(ipv4: (203, 0, 113, 10), port: 7000)

    @Test func globalAndULAIPv6JoinIPv4WithoutLinkLocalLoopbackOrMulticast() {
        let hosts = [
            "127.0.0.1", "192.0.2.10", "::1", "fe80::1", "fd00::10", "2001:db8:b::10", "ff02::1", "::", "192.0.2.10",
            "2001:db8:b::10",
        ].map(Self.host)
        let got = LocalAddresses.candidates(from: hosts, port: 4000, server: Self.server4).map(\.description)
        #expect(got == ["192.0.2.10:4000", "[2001:db8:b::10]:4000", "[fd00::10]:4000"])
    }

    /// A loopback server (tests, a server on the same host) adds the loopback of its family.
    @Test func loopbackOfTheServersFamilyOnly() {
        let hosts = ["127.0.0.1", "::1", "192.0.2.10"].map(Self.host)
        let v6Server = NetAddress(ipv6: "::1", port: 7000)!
        #expect(
            LocalAddresses.candidates(from: hosts, port: 9, server: v6Server).map(\.description) == [
                "[::1]:9", "192.0.2.10:9",
            ])
        #expect(
            LocalAddresses.candidates(from: hosts, port: 9, server: NetAddress(ipv4: (127, 0, 0, 1), port: 7000))
                .map(\.description) == ["127.0.0.1:9", "192.0.2.10:9"])
    }

    /// Many IPv4 interfaces (container bridges) cannot crowd IPv6 out of the list.
    @Test func ipv6KeepsTwoSlotsWhenIPv4WouldFillTheList() {
        let v4 = (1...12).map { Self.host("10.0.\($0).1") }
        let v6 = ["2001:db8::1", "2001:db8::2", "2001:db8::3"].map(Self.host)
        let got = LocalAddresses.candidates(from: v4 + v6, port: 1, server: Self.server4)
        #expect(got.count == SignalingLimits.maxCandidates)
        #expect(got.filter(\.isIPv6).map(\.hostString) == ["2001:db8::1", "2001:db8::2"])
        #expect(got.filter { !$0.isIPv6 }.count == SignalingLimits.maxCandidates - 2)
        // Without IPv6 addresses IPv4 fills every slot.
        #expect(
            LocalAddresses.candidates(from: v4, port: 1, server: Self.server4).count == SignalingLimits.maxCandidates)
    }
}
