// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import T2UCore
import T2UNIO

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The sockets of one server port (main or observation), one per bound address: datagrams to
/// an IPv4 peer leave through an IPv4 socket, to an IPv6 peer through an IPv6 one, so the core
/// answers from the family the request came in on. Confined to the core's loop.
struct ServerListeners {
    /// Both families: agents reach the server over whichever they have.
    static let defaultHosts = "0.0.0.0,::"

    private(set) var all: [Channel] = []
    private var ipv4: Channel?
    private var ipv6: Channel?

    mutating func add(_ channel: Channel) {
        all.append(channel)
        if channel.localAddress?.protocol == .inet6 {
            if ipv6 == nil { ipv6 = channel }
        } else if ipv4 == nil {
            ipv4 = channel
        }
    }

    /// nil: no socket of that family (the datagram is dropped).
    func channel(for destination: NetAddress) -> Channel? {
        destination.isIPv6 ? ipv6 : ipv4
    }

    func flush() {
        for channel in all { channel.flush() }
    }

    /// `--bind` text as hosts: comma-separated, each an IP address, without duplicates.
    static func hosts(_ text: String) throws(ServerRunnerError) -> [String] {
        var hosts: [String] = []
        for part in text.split(separator: ",") {
            var host = part.trimmingCharacters()
            if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            guard !host.isEmpty, (try? SocketAddress(ipAddress: host, port: 0)) != nil else {
                throw .badBindAddress(given: text, host: host)
            }
            if !hosts.contains(host) { hosts.append(host) }
        }
        guard !hosts.isEmpty else { throw .noAddress(text) }
        return hosts
    }

    /// The "::" of the default `--bind` on a host without IPv6: skipped, not fatal (a "::" the
    /// operator asked for is).
    static func isIPv6Unavailable(_ error: Error, host: String, given: String) -> Bool {
        guard host == "::", given == defaultHosts, let io = error as? IOError else { return false }
        return io.errnoCode == EAFNOSUPPORT || io.errnoCode == EADDRNOTAVAIL
    }
}
