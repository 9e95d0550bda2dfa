// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import T2UCore

/// The registry of a server that shares presence with other servers through PostgreSQL.
///
/// The core reads a full in-memory mirror of the presence table synchronously (about 100 bytes a
/// row); `PostgresSync` writes this server's changes to the database in batches and applies the
/// other servers' changes (LISTEN/NOTIFY, then a periodic full resync). Only records homed here
/// carry a usable token: a token is valid on the server that issued it, never via the mirror.
/// Not thread-safe: the server's event loop owns it, like the core (the sync reaches it through
/// `NIOLoopBound`).
package final class PostgresRegistry: Registry {
    struct Key: Hashable {
        var role: SignalingRole
        var uuid: String
    }

    /// A change of this server's rows, waiting for the database; at most one per row.
    package enum Write: Sendable, Equatable {
        /// A registration: the row becomes ours whoever had it.
        case claim(PresenceRecord)
        /// A keepalive: refreshes `last_seen`/address, re-inserts a missing row, never takes a
        /// row another server has claimed since.
        case refresh(PresenceRecord)
        /// Expired here: deleted unless another server has claimed it.
        case release(role: SignalingRole, uuid: String)

        var key: Key {
            switch self {
            case .claim(let r), .refresh(let r): Key(role: r.role, uuid: r.uuid)
            case .release(let role, let uuid): Key(role: role, uuid: uuid)
            }
        }
    }

    package let serverID: String
    /// Keepalives reach the database at most this often per row.
    package let refreshInterval: Nanos
    private var records: [Key: PresenceRecord] = [:]
    private var byToken: [UInt64: Key] = [:]
    private var pending: [Key: Write] = [:]
    private var lastWritten: [Key: Instant] = [:]
    /// Server ID -> advertised main address, from the last read of `t2u_servers`.
    package private(set) var servers: [String: NetAddress] = [:]
    /// Records homed here (the gauges and the registration limit are per server).
    private var localCount = 0
    /// While the database is unreachable other servers' rows are kept, not expired: nothing
    /// refreshes them then, and "offline" would be a guess (the resync after reconnecting
    /// replaces them).
    package var holdsRemoteRows = false

    package init(serverID: String, refreshInterval: Nanos = .seconds(5)) {
        self.serverID = serverID
        self.refreshInterval = refreshInterval
    }

    // MARK: Registry (the core)

    /// Agents registered with THIS server; the mirrored rows of other servers do not count.
    package var count: Int { localCount }

    /// Agents of `role` registered with THIS server (so the cloud's total is the sum over its
    /// servers' gauges). A scan: metrics read it once per scrape, not per packet.
    package func count(role: SignalingRole) -> Int? {
        records.values.reduce(0) { $0 + ($1.role == role && $1.homeServerID == serverID ? 1 : 0) }
    }

    package func upsert(_ record: PresenceRecord) {
        let key = Key(role: record.role, uuid: record.uuid)
        store(record, key: key)
        if record.homeServerID == serverID {
            pending[key] = .claim(record)
            lastWritten[key] = record.lastSeen
        }
    }

    package func lookup(role: SignalingRole, uuid: String) -> PresenceRecord? {
        records[Key(role: role, uuid: uuid)]
    }

    package func lookup(token: UInt64) -> PresenceRecord? {
        byToken[token].flatMap { records[$0] }
    }

    package func touch(token: UInt64, address: NetAddress, now: Instant) -> PresenceRecord? {
        guard let key = byToken[token], var record = records[key] else { return nil }
        let moved = record.address != address
        record.lastSeen = max(record.lastSeen, now)
        record.address = address
        records[key] = record
        if moved {
            // Other servers must learn the new address now (introductions and queries use it).
            pending[key] = .claim(record)
            lastWritten[key] = now
        } else if let written = lastWritten[key], now - written < refreshInterval {
            if case .refresh = pending[key] { pending[key] = .refresh(record) }
        } else {
            if pending[key] == nil { pending[key] = .refresh(record) }
            lastWritten[key] = now
        }
        return record
    }

    package func expire(before cutoff: Instant) -> [PresenceRecord] {
        var expired: [PresenceRecord] = []
        for (key, record) in records
        where record.lastSeen < cutoff && (record.homeServerID == serverID || !holdsRemoteRows) {
            expired.append(record)
            remove(key)
            if record.homeServerID == serverID { pending[key] = .release(role: key.role, uuid: key.uuid) }
        }
        return expired
    }

    package func serverAddress(_ serverID: String) -> NetAddress? { servers[serverID] }

    package func forEachRecord(_ body: (PresenceRecord) -> Void) {
        for record in records.values { body(record) }
    }

    // MARK: Sync (the shell)

    /// Rows waiting for the database, one per row at most (the queue is bounded by the rows
    /// homed here).
    package func takeWrites() -> [Write] {
        defer { pending.removeAll(keepingCapacity: true) }
        return Array(pending.values)
    }

    /// Writes that failed go back, unless a newer one for the same row is already waiting.
    package func requeue(_ writes: [Write]) {
        for write in writes where pending[write.key] == nil { pending[write.key] = write }
    }

    /// After a database or connection restart: every live row of ours is written again.
    package func refreshAllLocal() {
        for (key, record) in records where record.homeServerID == serverID {
            if case .claim = pending[key] { continue }
            pending[key] = .refresh(record)
        }
    }

    package var pendingWrites: Int { pending.count }

    /// Another server's row, `age` after its `last_seen`. Ignored for our own rows, and when our
    /// own record of it is fresher (a registration here not yet written, or a stale row).
    package func applyRemote(_ remote: PresenceRecord, age: Nanos, now: Instant) {
        guard remote.homeServerID != serverID else { return }
        let key = Key(role: remote.role, uuid: remote.uuid)
        var record = remote
        record.lastSeen = now - max(.zero, age)
        record.token = 0
        if let current = records[key], current.homeServerID == serverID, current.lastSeen >= record.lastSeen { return }
        pending[key] = nil
        lastWritten[key] = nil
        store(record, key: key)
    }

    /// Another server deleted or lost the row.
    package func removeRemote(role: SignalingRole, uuid: String) {
        let key = Key(role: role, uuid: uuid)
        guard let current = records[key], current.homeServerID != serverID else { return }
        remove(key)
    }

    /// A full snapshot of the live rows: every other server's row not in it is gone.
    package func resync(_ rows: [(record: PresenceRecord, age: Nanos)], now: Instant) {
        var seen = Set<Key>()
        for row in rows {
            seen.insert(Key(role: row.record.role, uuid: row.record.uuid))
            applyRemote(row.record, age: row.age, now: now)
        }
        for (key, record) in records where record.homeServerID != serverID && !seen.contains(key) { remove(key) }
    }

    package func setServers(_ addresses: [String: NetAddress]) { servers = addresses }

    /// A server whose heartbeat stopped: its agents are unreachable through it, so its rows
    /// leave the mirror now instead of at their presence timeout. Returns how many.
    package func removeRows(homedAt server: String) -> Int {
        guard server != serverID else { return 0 }
        let keys = records.compactMap { $0.value.homeServerID == server ? $0.key : nil }
        for key in keys { remove(key) }
        return keys.count
    }

    /// This server's live records (for tests and diagnostics).
    package var localRecords: [PresenceRecord] { records.values.filter { $0.homeServerID == serverID } }

    private func store(_ record: PresenceRecord, key: Key) {
        if let old = records[key], old.homeServerID == serverID {
            byToken[old.token] = nil
            localCount -= 1
        }
        records[key] = record
        if record.homeServerID == serverID {
            byToken[record.token] = key
            localCount += 1
        } else {
            lastWritten[key] = nil
        }
    }

    private func remove(_ key: Key) {
        guard let old = records.removeValue(forKey: key) else { return }
        if old.homeServerID == serverID {
            byToken[old.token] = nil
            localCount -= 1
        }
        lastWritten[key] = nil
    }
}
