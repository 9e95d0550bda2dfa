// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import T2UCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The servers an agent may register with: `host`, `host:port` or several of them separated by
/// commas (`192.0.2.1:7000,192.0.2.2:7000`); a host name stands for every address it resolves
/// to (IPv4 first). Agents register with the first and move to the next when it stops answering.
package enum ServerAddressList {
    package enum Failure: Error, Equatable, CustomStringConvertible {
        case empty
        case badEntry(String)
        case unresolvable(String)

        package var description: String {
            switch self {
            case .empty: return "no server given"
            case .badEntry(let entry): return "'\(entry)' is not HOST, HOST:PORT or [IPv6]:PORT (port 1...65535)"
            case .unresolvable(let host): return "cannot resolve server address '\(host)'"
            }
        }
    }

    /// "IP:PORT" or "[IPv6]:PORT", no name resolution.
    package static func literal(_ text: String) -> NetAddress? {
        guard let (host, port) = try? split(text, defaultPort: nil), let port else { return nil }
        return numeric(host, port: port)
    }

    /// The entries with their ports, without name resolution: "h1:7000,[2001:db8::1]:7001" (an
    /// entry that does not parse is shown as given; `resolve` reports it).
    package static func display(_ spec: String, defaultPort: UInt16) -> String {
        spec.split(separator: ",").map { $0.trimmingCharacters() }.filter { !$0.isEmpty }.map { entry in
            guard let (host, port) = try? split(entry, defaultPort: defaultPort), let port else { return entry }
            return host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        }.joined(separator: ",")
    }

    /// Every address of every entry, in order, without duplicates. Blocks on DNS (once, at start).
    package static func resolve(_ spec: String, defaultPort: UInt16) throws(Failure) -> [NetAddress] {
        var result: [NetAddress] = []
        for rawEntry in spec.split(separator: ",") {
            let entry = rawEntry.trimmingCharacters()
            if entry.isEmpty { continue }
            let (host, port) = try split(entry, defaultPort: defaultPort)
            guard let port, port != 0 else { throw .badEntry(entry) }
            let addresses: [NetAddress]
            if let literal = numeric(host, port: port) {
                addresses = [literal]
            } else {
                addresses = try lookup(host, port: port)
            }
            for address in addresses where !result.contains(address) { result.append(address) }
        }
        guard !result.isEmpty else { throw .empty }
        return result
    }

    private static func split(_ entry: String, defaultPort: UInt16?) throws(Failure) -> (String, UInt16?) {
        if entry.hasPrefix("[") {
            guard let close = entry.firstIndex(of: "]") else { throw .badEntry(entry) }
            let host = String(entry[entry.index(after: entry.startIndex)..<close])
            let rest = entry[entry.index(after: close)...]
            if rest.isEmpty { return (host, defaultPort) }
            guard rest.hasPrefix(":"), let port = UInt16(rest.dropFirst()) else { throw .badEntry(entry) }
            return (host, port)
        }
        let colons = entry.filter { $0 == ":" }.count
        if colons == 1, let colon = entry.firstIndex(of: ":") {
            guard let port = UInt16(entry[entry.index(after: colon)...]) else { throw .badEntry(entry) }
            return (String(entry[..<colon]), port)
        }
        // No port, or a bare IPv6 address.
        return (entry, defaultPort)
    }

    private static func numeric(_ host: String, port: UInt16) -> NetAddress? {
        if let v4 = NetAddress(ipv4: host, port: port) { return v4 }
        guard host.contains(":"), let socket = try? SocketAddress(ipAddress: host, port: Int(port)) else { return nil }
        return NetAddress(socket)
    }

    private static func lookup(_ host: String, port: UInt16) throws(Failure) -> [NetAddress] {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Darwin)
        hints.ai_socktype = SOCK_DGRAM
        #else
        hints.ai_socktype = Int32(SOCK_DGRAM.rawValue)
        #endif
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &list) == 0, let first = list else { throw .unresolvable(host) }
        defer { freeaddrinfo(first) }
        var v4: [NetAddress] = []
        var v6: [NetAddress] = []
        var node: UnsafeMutablePointer<addrinfo>? = first
        while let current = node {
            if let sa = current.pointee.ai_addr {
                switch Int32(current.pointee.ai_family) {
                case AF_INET:
                    let address = sa.withMemoryRebound(to: sockaddr_in.self, capacity: 1) {
                        SocketAddress($0.pointee, host: host)
                    }
                    if let a = NetAddress(address), !v4.contains(a) { v4.append(a) }
                case AF_INET6:
                    let address = sa.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) {
                        SocketAddress($0.pointee, host: host)
                    }
                    if let a = NetAddress(address), !v6.contains(a) { v6.append(a) }
                default:
                    break
                }
            }
            node = current.pointee.ai_next
        }
        guard !(v4.isEmpty && v6.isEmpty) else { throw .unresolvable(host) }
        return v4 + v6
    }
}

extension Substring {
    /// Without leading and trailing whitespace (the comma lists of addresses people type).
    package func trimmingCharacters() -> String {
        var slice = self
        while let first = slice.first, first.isWhitespace { slice.removeFirst() }
        while let last = slice.last, last.isWhitespace { slice.removeLast() }
        return String(slice)
    }
}
