// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Testing

@testable import T2UCore

/// The client's path rules without sockets: what each address is, which validated path wins,
/// when discovery runs and stops, and when a relayed link looks again.
@Suite struct PathSelectionRulesTests {
    static let relay = NetAddress(ipv4: (198, 51, 100, 1), port: 3478)
    static let reflexive = NetAddress(ipv4: (203, 0, 113, 20), port: 40_000)
    static let mapped = NetAddress(ipv4: (203, 0, 113, 20), port: 5000)
    static let lan = NetAddress(ipv4: (192, 0, 2, 10), port: 5000)
    static let globalV6 = NetAddress(host: .v6(0x2001_0DB8_0000_0001, 2), port: 5000)
    static let ourSubnetV6 = LocalSubnet(host: .v6(0x2001_0DB8_0000_0001, 9), prefixLength: 64)

    static func introduced(directDisabled: Bool = false, subnets: [LocalSubnet] = []) -> PathSelection {
        var selection = PathSelection(relay: relay, directDisabled: directDisabled)
        selection.introduced(deviceAddresses: [reflexive, lan, mapped, globalV6], localSubnets: subnets)
        return selection
    }

    @Test func addressesAreClassified() {
        let selection = Self.introduced()
        #expect(selection.kind(of: Self.relay) == .relay)
        #expect(selection.kind(of: Self.reflexive) == .direct)
        #expect(selection.kind(of: Self.lan) == .lan)
        // A candidate on the device's public IP is a port its router mapped: WAN.
        #expect(selection.kind(of: Self.mapped) == .direct)
        #expect(selection.kind(of: NetAddress(ipv4: (127, 0, 0, 1), port: 9)) == .lan)
        #expect(selection.kind(of: NetAddress(ipv4: (192, 0, 2, 99), port: 5000)) == .direct, "not a candidate")
        // Global IPv6: the device's internet address, LAN only on one of our subnets.
        #expect(selection.kind(of: Self.globalV6) == .direct)
        #expect(Self.introduced(subnets: [Self.ourSubnetV6]).kind(of: Self.globalV6) == .lan)
    }

    @Test func beforeTheIntroductionOnlyTheRelayAndLoopbackAreKnown() {
        var selection = Self.introduced()
        selection.reset()
        #expect(selection.kind(of: Self.lan) == .direct)
        #expect(selection.deviceReflexive == nil)
    }

    @Test func onlyAStrictlyBetterPathReplacesTheCurrentOne() {
        let selection = Self.introduced()
        #expect(selection.improves(Self.reflexive, on: Self.relay))
        #expect(selection.improves(Self.lan, on: Self.reflexive))
        #expect(!selection.improves(Self.mapped, on: Self.reflexive), "direct for direct: no churn")
        #expect(!selection.improves(Self.relay, on: Self.reflexive))
        #expect(!selection.improves(Self.reflexive, on: Self.lan))
    }

    @Test func discoveryRunsBelowLANAndNotWhenDirectIsExcluded() {
        let selection = Self.introduced()
        #expect(selection.wantsDiscovery(from: Self.relay))
        #expect(selection.wantsDiscovery(from: Self.reflexive))
        #expect(!selection.wantsDiscovery(from: Self.lan))
        #expect(!Self.introduced(directDisabled: true).wantsDiscovery(from: Self.relay))
    }

    /// LAN settles at once; direct only once the window is over (a LAN path may still win);
    /// the relay never.
    @Test func discoverySettlesOnLANAtOnceAndOnDirectAfterTheWindow() {
        var selection = Self.introduced()
        selection.discoveryStarted()
        #expect(selection.settled(on: Self.lan))
        #expect(!selection.settled(on: Self.reflexive))
        #expect(!selection.settled(on: Self.relay))
        selection.discoveryWindowEnded()
        #expect(selection.settled(on: Self.reflexive))
        #expect(!selection.settled(on: Self.relay))
        selection.discoveryStarted()
        #expect(!selection.settled(on: Self.reflexive), "a new look has a window of its own")
    }

    @Test func relayedLinksLookTwiceAtTheFirstDelayThenBackOff() {
        var retry = RelayedLinkRetry(first: .seconds(45), maximum: .seconds(300))
        let looks = (0..<6).compactMap { _ in retry.next() }
        #expect(
            looks.map(\.delay) == [
                .seconds(45), .seconds(45), .seconds(90), .seconds(180), .seconds(300), .seconds(300),
            ])
        #expect(looks.map(\.everyStrategy) == [true, true, false, false, false, false])
        retry.reset()
        #expect(retry.next()?.delay == .seconds(45))
        var off = RelayedLinkRetry(first: .zero, maximum: .seconds(300))
        #expect(off.next() == nil)
        var small = RelayedLinkRetry(first: .seconds(10), maximum: .seconds(1))
        #expect((0..<3).compactMap { _ in small.next()?.delay } == [.seconds(10), .seconds(10), .seconds(10)])
    }
}
