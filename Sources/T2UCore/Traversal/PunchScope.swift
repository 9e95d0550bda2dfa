// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// Where a device may send unauthenticated punches for one introduction (docs/SECURITY.md §4):
/// the client's address as the server observed it (any port of that IP: predicted and
/// birthday ports), client candidates that are unicast hosts on one of the device's own
/// subnets, and at most `maxGlobalIPv6` global IPv6 candidates (IPv6 has no NAT: a host's own
/// global address is its public one even when it registered over IPv4). Everything else a
/// CONNECT names is dropped, so a client cannot make the device send to an address of its
/// choosing beyond those two, under the plan's punch bound.
public struct PunchScope: Sendable {
    /// INTRODUCE's `clientPublicAddress`: the server saw the client there.
    public let observed: NetAddress
    public let subnets: [LocalSubnet]
    /// The peer's global IPv6 candidates kept (named in `candidates` at init).
    public let globalIPv6: [NetAddress.Host]

    /// Global IPv6 candidates one introduction may name (a dual-stack host's stable and
    /// temporary addresses).
    public static let maxGlobalIPv6 = 2

    /// `candidates`: what the peer named (its global IPv6 hosts become punchable).
    public init(observed: NetAddress, subnets: [LocalSubnet], candidates: [NetAddress] = []) {
        self.observed = observed
        self.subnets = subnets
        var hosts: [NetAddress.Host] = []
        for candidate in candidates
        where candidate.ipv6Class == .global && candidate.host != observed.host
            && !subnets.containsUnicast(candidate.host) && !hosts.contains(candidate.host)
            && hosts.count < Self.maxGlobalIPv6
        {
            hosts.append(candidate.host)
        }
        self.globalIPv6 = hosts
    }

    public func allows(_ destination: NetAddress) -> Bool {
        destination.host == observed.host || subnets.containsUnicast(destination.host)
            || globalIPv6.contains(destination.host)
    }

    public func partition(_ candidates: [NetAddress]) -> (kept: [NetAddress], dropped: [NetAddress]) {
        var kept: [NetAddress] = []
        var dropped: [NetAddress] = []
        for candidate in candidates {
            if allows(candidate) { kept.append(candidate) } else { dropped.append(candidate) }
        }
        return (kept, dropped)
    }
}
