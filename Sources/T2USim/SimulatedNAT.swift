// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import T2UCore

/// A NAT in front of private hosts, as a pure translation model (the simulation moves the
/// datagrams): outbound datagrams get a public source per the mapping behaviour; inbound ones
/// reach a private host only through an existing mapping the filter accepts, and unsolicited
/// inbound datagrams are dropped (counted). A NAT that `clashes` models a Linux router that
/// accepts unsolicited inbound UDP locally: the datagram it keeps leaves a conntrack entry (its
/// public port, the sender) that catches the sender's later datagrams, and an inside host's
/// datagram to that sender from that port leaves from another, random port (`PunchOrder`).
package final class SimulatedNAT {
    package enum Mapping: Sendable, Equatable {
        /// No translation: hosts are public (the NAT only routes).
        case none
        /// One public port per private socket for every destination; the private port is kept
        /// when free (Linux port-preserving masquerade, full cone).
        case endpointIndependent
        /// A new random public port per (private socket, destination) (`masquerade fully-random`).
        case dependentRandom
        /// A new port per (private socket, destination), `delta` after the previous one.
        case dependentSequential(delta: Int)
    }

    package enum Filtering: Sendable, Equatable {
        /// Anyone may send to a mapped port (full cone).
        case endpointIndependent
        /// Only the exact address+port the mapping sent to (port-restricted cone, symmetric).
        case addressPortDependent
    }

    package let publicHost: NetAddress.Host
    package let mapping: Mapping
    package let filtering: Filtering
    package let clashes: Bool
    package private(set) var droppedUnsolicited: UInt64 = 0
    /// Datagrams from an inside host moved to another port by a clash.
    package private(set) var clashed: UInt64 = 0
    package private(set) var mappingsCreated: Int = 0

    private struct MappingKey: Hashable {
        var source: NetAddress
        /// nil for endpoint-independent mappings.
        var destination: NetAddress?
    }

    private struct Entry {
        var source: NetAddress
        var publicPort: UInt16
        /// Destinations this mapping sent to (what the filter lets back in).
        var contacted: Set<NetAddress> = []
    }

    /// A public port and a remote sender: the conntrack entry an unsolicited datagram left.
    private struct Tuple: Hashable {
        var publicPort: UInt16
        var remote: NetAddress
    }

    private let entropy: EntropySource
    private var byKey: [MappingKey: UInt16] = [:]
    private var unsolicited: Set<Tuple> = []
    /// (inside source, destination) moved off its mapping's port by a clash -> the port used.
    private var clashPorts: [MappingKey: UInt16] = [:]
    private var byPort: [UInt16: Entry] = [:]
    private var nextSequential: Int

    package static let portRange: ClosedRange<Int> = 1024...65535

    package init(
        publicHost: NetAddress.Host, mapping: Mapping, filtering: Filtering, entropy: EntropySource,
        firstSequentialPort: Int = 20000, clashes: Bool = false
    ) {
        self.publicHost = publicHost
        self.mapping = mapping
        self.filtering = filtering
        self.clashes = clashes
        self.entropy = entropy
        self.nextSequential = firstSequentialPort
    }

    /// The public source of a datagram `source` sends to `destination` (creating the mapping).
    package func outbound(from source: NetAddress, to destination: NetAddress) -> NetAddress {
        if mapping == .none { return source }
        let key = MappingKey(source: source, destination: mapping == .endpointIndependent ? nil : destination)
        let port: UInt16
        if let existing = byKey[key] {
            port = existing
        } else {
            port = allocate(preferring: source.port)
            byKey[key] = port
            byPort[port] = Entry(source: source, publicPort: port)
            mappingsCreated += 1
        }
        if clashes, let moved = clashPort(from: source, to: destination, mapped: port) {
            return NetAddress(host: publicHost, port: moved)
        }
        byPort[port]!.contacted.insert(destination)
        return NetAddress(host: publicHost, port: port)
    }

    /// The port a datagram leaves from when (mapped port, destination) is taken by an entry an
    /// unsolicited datagram left: a random free one, kept for this source and destination.
    private func clashPort(from source: NetAddress, to destination: NetAddress, mapped: UInt16) -> UInt16? {
        let key = MappingKey(source: source, destination: destination)
        if let moved = clashPorts[key] { return moved }
        guard unsolicited.contains(Tuple(publicPort: mapped, remote: destination)), let moved = randomFreePort() else {
            return nil
        }
        clashPorts[key] = moved
        byPort[moved] = Entry(source: source, publicPort: moved, contacted: [destination])
        clashed &+= 1
        return moved
    }

    /// The private destination of a datagram from `source` to our public `destination`, or
    /// nil when no mapping accepts it.
    package func inbound(to destination: NetAddress, from source: NetAddress) -> NetAddress? {
        if mapping == .none { return destination }
        let tuple = Tuple(publicPort: destination.port, remote: source)
        guard destination.host == publicHost, !unsolicited.contains(tuple), let entry = byPort[destination.port],
            filtering == .endpointIndependent || entry.contacted.contains(source)
        else {
            droppedUnsolicited &+= 1
            if clashes, destination.host == publicHost { unsolicited.insert(tuple) }
            return nil
        }
        return entry.source
    }

    private func allocate(preferring preferred: UInt16) -> UInt16 {
        switch mapping {
        case .endpointIndependent where byPort[preferred] == nil && Self.portRange.contains(Int(preferred)):
            return preferred
        case .dependentSequential(let delta):
            for _ in 0..<Self.portRange.count {
                let candidate = nextSequential
                nextSequential += delta
                if !Self.portRange.contains(nextSequential) { nextSequential = Self.portRange.lowerBound }
                if Self.portRange.contains(candidate), byPort[UInt16(candidate)] == nil { return UInt16(candidate) }
            }
            return 0
        default:
            return randomFreePort() ?? 0
        }
    }

    /// A random public port no mapping holds (nil after 1000 tries: the table is nearly full).
    private func randomFreePort() -> UInt16? {
        let span = UInt64(Self.portRange.count)
        for _ in 0..<1000 {
            let candidate = UInt16(UInt64(Self.portRange.lowerBound) + entropy.nextUInt64() % span)
            if byPort[candidate] == nil { return candidate }
        }
        return nil
    }
}
