// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import T2UCore

/// The host's own addresses: candidates for registration and CONNECT (IPv4 LAN addresses, and
/// IPv6 addresses, which need no NAT to be reached) and the IPv4 address a discovery reply
/// names. Shared by both agents (device registration, client CONNECT).
package enum LocalAddresses {
    package struct Interface {
        package var address: NetAddress.Host
        package var index: Int
        package var device: NIONetworkDevice
    }

    /// Up interfaces with an IPv4 address (loopback included), in system order.
    package static func ipv4Interfaces() -> [Interface] {
        interfaces { if case .v4 = $0 { true } else { false } }
    }

    /// Up interfaces with an IPv6 address, one entry per address (link-local included), in
    /// system order.
    package static func ipv6Interfaces() -> [Interface] {
        interfaces { if case .v6 = $0 { true } else { false } }
    }

    /// One entry per up, multicast-capable interface with an IPv6 address (the first address):
    /// where a link-local IPv6 group is joined or sent to.
    package static func ipv6MulticastLinks() -> [Interface] {
        var seen = Set<Int>()
        return ipv6Interfaces().filter { $0.device.multicastSupported && seen.insert($0.index).inserted }
    }

    private static func interfaces(where keep: (NetAddress.Host) -> Bool) -> [Interface] {
        guard let devices = try? System.enumerateDevices() else { return [] }
        return devices.compactMap { device in
            guard let net = device.address.flatMap(NetAddress.init), keep(net.host) else { return nil }
            return Interface(address: net.host, index: device.interfaceIndex, device: device)
        }
    }

    /// The subnet of every up interface address, IPv4 and IPv6 (loopback included): address
    /// plus the prefix length of its netmask. Scope of punches and LAN discovery.
    package static func subnets() -> [LocalSubnet] {
        guard let devices = try? System.enumerateDevices() else { return [] }
        var result: [LocalSubnet] = []
        for device in devices {
            guard let address = device.address.flatMap(NetAddress.init) else { continue }
            let subnet: LocalSubnet
            if let mask = device.netmask.flatMap(NetAddress.init) {
                subnet = LocalSubnet(host: address.host, netmask: mask.host)
            } else {
                subnet = LocalSubnet(host: address.host, prefixLength: Int.max)  // no mask: the host alone
            }
            if !result.contains(subnet) { result.append(subnet) }
        }
        return result
    }

    package static func isUnspecifiedOrMulticast(_ host: NetAddress.Host) -> Bool {
        switch host {
        case .v4(let value): return value == 0 || value >> 28 == 0xE
        case .v6(let high, let low): return (high == 0 && low == 0) || high >> 56 == 0xFF
        }
    }

    /// Host candidates for `port`: non-loopback IPv4 addresses and IPv6 global and ULA addresses
    /// of up interfaces, plus the loopback address of the server's family when the server
    /// itself is on loopback (tests, or a server on the same host).
    package static func candidates(port: UInt16, server: NetAddress) -> [NetAddress] {
        guard let devices = try? System.enumerateDevices() else { return [] }
        let hosts = devices.compactMap { $0.address.flatMap(NetAddress.init)?.host }
        return candidates(from: hosts, port: port, server: server)
    }

    /// How many candidate slots IPv6 keeps when IPv4 addresses alone would fill the list.
    static let reservedIPv6Candidates = 2

    /// The choice `candidates(port:server:)` makes from the interface addresses `hosts`: no
    /// link-local (it needs an interface scope the peer cannot know), no multicast or unspecified,
    /// IPv4 first, IPv6 global before ULA (a ULA is a LAN address: a peer punches it only when
    /// it is on its own subnet), at most `SignalingLimits.maxCandidates`.
    package static func candidates(from hosts: [NetAddress.Host], port: UInt16, server: NetAddress) -> [NetAddress] {
        var loopback: [NetAddress] = []
        if server.host.isLoopback { loopback.append(NetAddress(host: server.host, port: port)) }
        var v4: [NetAddress] = []
        var global: [NetAddress] = []
        var uniqueLocal: [NetAddress] = []
        for host in hosts where !host.isLoopback && !isUnspecifiedOrMulticast(host) {
            let candidate = NetAddress(host: host, port: port)
            switch candidate.ipv6Class {
            case nil: if !v4.contains(candidate) { v4.append(candidate) }
            case .global: if !global.contains(candidate) { global.append(candidate) }
            case .uniqueLocal: if !uniqueLocal.contains(candidate) { uniqueLocal.append(candidate) }
            case .linkLocal, .loopback, .other: break
            }
        }
        let v6 = global + uniqueLocal
        let limit = SignalingLimits.maxCandidates
        var result = loopback
        result += v4.prefix(max(0, limit - result.count - min(v6.count, reservedIPv6Candidates)))
        result += v6.prefix(max(0, limit - result.count))
        return result
    }
}
