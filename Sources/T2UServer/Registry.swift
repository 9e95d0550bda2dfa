import T2UCore

/// One registered agent (device or client) as the cloud knows it.
public struct PresenceRecord: Sendable, Equatable {
    public var role: SignalingRole
    public var uuid: String
    /// Reflexive address: where its datagrams come from, and where we reach it.
    public var address: NetAddress
    public var publicKey: [UInt8]
    public var extra: [UInt8]
    public var candidates: [NetAddress]
    public var lastSeen: Instant
    /// Which server holds the agent's NAT binding (introductions go through it).
    public var homeServerID: String
    /// Session token handed out at registration; requests carry it.
    public var token: UInt64
    /// The agent's NAT behaviour as it last reported it (REGISTER / KEEPALIVE).
    public var nat: NATBehavior

    public init(role: SignalingRole, uuid: String, address: NetAddress, publicKey: [UInt8], extra: [UInt8],
                candidates: [NetAddress], lastSeen: Instant, homeServerID: String, token: UInt64, nat: NATBehavior = .unknown) {
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
public protocol Registry: AnyObject {
    var count: Int { get }
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
}

extension Registry {
    /// A single-server registry knows no other servers.
    public func serverAddress(_ serverID: String) -> NetAddress? { nil }
}

public final class InMemoryRegistry: Registry {
    private struct Key: Hashable {
        var role: SignalingRole
        var uuid: String
    }

    private var records: [Key: PresenceRecord] = [:]
    private var byToken: [UInt64: Key] = [:]

    public init() {}

    public var count: Int { records.count }

    public func upsert(_ record: PresenceRecord) {
        let key = Key(role: record.role, uuid: record.uuid)
        if let old = records[key] { byToken[old.token] = nil }
        records[key] = record
        byToken[record.token] = key
    }

    public func lookup(role: SignalingRole, uuid: String) -> PresenceRecord? {
        records[Key(role: role, uuid: uuid)]
    }

    public func lookup(token: UInt64) -> PresenceRecord? {
        byToken[token].flatMap { records[$0] }
    }

    public func touch(token: UInt64, address: NetAddress, now: Instant) -> PresenceRecord? {
        guard let key = byToken[token], var record = records[key] else { return nil }
        record.lastSeen = max(record.lastSeen, now)
        record.address = address
        records[key] = record
        return record
    }

    public func expire(before cutoff: Instant) -> [PresenceRecord] {
        var expired: [PresenceRecord] = []
        for (key, record) in records where record.lastSeen < cutoff {
            expired.append(record)
            records[key] = nil
            byToken[record.token] = nil
        }
        return expired
    }
}
