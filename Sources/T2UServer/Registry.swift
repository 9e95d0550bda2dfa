// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import T2UCore

/// One registered agent (device or client) as the cloud knows it.
package struct PresenceRecord: Sendable, Equatable {
    package var role: SignalingRole
    package var uuid: String
    /// Reflexive address: where its datagrams come from, and where we reach it.
    package var address: NetAddress
    package var publicKey: [UInt8]
    package var extra: [UInt8]
    package var candidates: [NetAddress]
    package var lastSeen: Instant
    /// Which server holds the agent's NAT binding (introductions go through it).
    package var homeServerID: String
    /// Session token handed out at registration; requests carry it.
    package var token: UInt64
    /// The agent's NAT behaviour as it last reported it (REGISTER / KEEPALIVE).
    package var nat: NATBehavior

    package init(
        role: SignalingRole, uuid: String, address: NetAddress, publicKey: [UInt8], extra: [UInt8],
        candidates: [NetAddress], lastSeen: Instant, homeServerID: String, token: UInt64, nat: NATBehavior = .unknown
    ) {
        self.nat = nat
        self.role = role
        self.uuid = uuid
        self.address = address
        self.publicKey = publicKey
        self.extra = extra
        self.candidates = candidates
        self.lastSeen = lastSeen
        self.homeServerID = homeServerID
        self.token = token
    }
}

/// Presence storage behind the server core: in memory for one server; a shared database
/// (PostgreSQL) when several servers must see each other's agents. Synchronous because the
/// core is sans-IO; a networked backend keeps a local cache and syncs in the shell.
package protocol Registry: AnyObject {
    /// Agents registered with this server (a shared registry's mirror of other servers' agents
    /// does not count: the gauges and the registration limit are per server).
    var count: Int { get }
    /// Registered agents of one role; nil when the backend cannot tell cheaply (metrics omit it).
    func count(role: SignalingRole) -> Int?
    /// Inserts or replaces the record of (role, uuid); a replaced record's token stops working.
    func upsert(_ record: PresenceRecord)
    func lookup(role: SignalingRole, uuid: String) -> PresenceRecord?
    func lookup(token: UInt64) -> PresenceRecord?
    /// Refreshes `lastSeen` and the address of the record holding `token`; returns it updated.
    func touch(token: UInt64, address: NetAddress, now: Instant) -> PresenceRecord?
    /// Removes and returns every record last seen before `cutoff`.
    func expire(before cutoff: Instant) -> [PresenceRecord]
    /// The advertised main address of another server sharing this registry (nil: unknown).
    func serverAddress(_ serverID: String) -> NetAddress?
    /// Calls `body` with every record, in no particular order (the operator's dashboard).
    func forEachRecord(_ body: (PresenceRecord) -> Void)
}

extension Registry {
    /// A single-server registry knows no other servers.
    package func serverAddress(_ serverID: String) -> NetAddress? { nil }

    package func count(role: SignalingRole) -> Int? { nil }
}

package final class InMemoryRegistry: Registry {
    private struct Key: Hashable {
        var role: SignalingRole
        var uuid: String
    }

    /// Records in a slot array (freed slots reused) indexed by two small maps: a token lookup
    /// (every keepalive and query) hashes one integer, and expiry scans contiguous memory.
    private var slots: [PresenceRecord?] = []
    private var freeSlots: [Int32] = []
    private var byKey: [Key: Int32] = [:]
    private var byToken: [UInt64: Int32] = [:]
    private var devices = 0

    package init() {}

    package var count: Int { byKey.count }

    package func count(role: SignalingRole) -> Int? {
        role == .device ? devices : byKey.count - devices
    }

    package func upsert(_ record: PresenceRecord) {
        let key = Key(role: record.role, uuid: record.uuid)
        if let slot = byKey[key], let old = slots[Int(slot)] {
            if old.token != record.token {
                byToken[old.token] = nil
                byToken[record.token] = slot
            }
            slots[Int(slot)] = record
            return
        }
        let slot: Int32
        if let reused = freeSlots.popLast() {
            slot = reused
            slots[Int(slot)] = record
        } else {
            slot = Int32(slots.count)
            slots.append(record)
        }
        byKey[key] = slot
        byToken[record.token] = slot
        if record.role == .device { devices += 1 }
    }

    package func lookup(role: SignalingRole, uuid: String) -> PresenceRecord? {
        byKey[Key(role: role, uuid: uuid)].flatMap { slots[Int($0)] }
    }

    package func lookup(token: UInt64) -> PresenceRecord? {
        byToken[token].flatMap { slots[Int($0)] }
    }

    package func touch(token: UInt64, address: NetAddress, now: Instant) -> PresenceRecord? {
        guard let slot = byToken[token].map(Int.init), slots[slot] != nil else { return nil }
        slots[slot]!.lastSeen = max(slots[slot]!.lastSeen, now)
        slots[slot]!.address = address
        return slots[slot]
    }

    package func forEachRecord(_ body: (PresenceRecord) -> Void) {
        for case let record? in slots { body(record) }
    }

    package func expire(before cutoff: Instant) -> [PresenceRecord] {
        var expired: [PresenceRecord] = []
        for slot in slots.indices {
            guard let record = slots[slot], record.lastSeen < cutoff else { continue }
            expired.append(record)
            slots[slot] = nil
            freeSlots.append(Int32(slot))
            byKey[Key(role: record.role, uuid: record.uuid)] = nil
            byToken[record.token] = nil
            if record.role == .device { devices -= 1 }
        }
        return expired
    }
}
