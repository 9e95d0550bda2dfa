// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// The client's choice of path for one link, sans-IO: what each address is (`PathKind`),
/// which validated path replaces the current one, when discovery runs and when it may stop.
/// The port mapping feeds it the CONNECT answer and the window's end, and acts on its answers
/// (migrate, start or stop the traversal); the simulator asks it the same questions.
///
/// Rules: a validated path replaces the current one only when strictly better (LAN > direct
/// WAN > relay), never a worse one; nothing beats LAN, so discovery stops there; a direct path
/// is kept once the discovery window is over (until then a LAN path may still win).
package struct PathSelection: Sendable {
    /// The server's relay address.
    package let relay: NetAddress
    /// The caller excluded direct paths: no discovery, the link stays where it came up.
    package let directDisabled: Bool
    /// The device's address as the server saw it (CONNECT lists it first).
    package private(set) var deviceReflexive: NetAddress?
    /// Its LAN candidates (CONNECT lists them after its reflexive address).
    package private(set) var deviceCandidates: [NetAddress] = []
    /// Our subnets when the device was introduced (a global IPv6 candidate on one of them is LAN).
    package private(set) var localSubnets: [LocalSubnet] = []
    /// The current discovery's window is over.
    package private(set) var windowEnded = false

    package init(relay: NetAddress, directDisabled: Bool) {
        self.relay = relay
        self.directDisabled = directDisabled
    }

    /// A CONNECT answer (first, or a later look for a direct path): its device addresses.
    package mutating func introduced(deviceAddresses: [NetAddress], localSubnets: [LocalSubnet]) {
        deviceReflexive = deviceAddresses.first
        deviceCandidates = Array(deviceAddresses.dropFirst())
        self.localSubnets = localSubnets
    }

    /// A new attempt: nothing is known of the device yet.
    package mutating func reset() {
        deviceReflexive = nil
        deviceCandidates = []
        windowEnded = false
    }

    /// LAN: loopback, or one of the device's LAN candidates not on its public IP (a port its
    /// router mapped is a WAN path), a global IPv6 one only on one of our subnets (no NAT66: a
    /// global address is the device's internet address). Relay: the server's address. Anything
    /// else is a direct WAN path.
    package func kind(of address: NetAddress) -> PathKind {
        if address == relay { return .relay }
        if address.host.isLoopback { return .lan }
        if address.host != deviceReflexive?.host, deviceCandidates.contains(address) {
            if address.ipv6Class == .global, !localSubnets.containsUnicast(address.host) { return .direct }
            return .lan
        }
        return .direct
    }

    /// Whether discovery should run for a link on `peer` (nothing to find once on LAN).
    package func wantsDiscovery(from peer: NetAddress) -> Bool {
        !directDisabled && kind(of: peer) < .lan
    }

    /// Whether a validated `address` replaces `peer`: strictly better only.
    package func improves(_ address: NetAddress, on peer: NetAddress) -> Bool {
        kind(of: address) > kind(of: peer)
    }

    /// A discovery starts: its window runs.
    package mutating func discoveryStarted() { windowEnded = false }

    /// The discovery window is over.
    package mutating func discoveryWindowEnded() { windowEnded = true }

    /// Whether discovery may stop with the link on `peer`.
    package func settled(on peer: NetAddress) -> Bool {
        let kind = kind(of: peer)
        return kind == .lan || (kind == .direct && windowEnded)
    }
}
