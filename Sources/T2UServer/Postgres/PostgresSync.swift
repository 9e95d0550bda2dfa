// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import PostgresNIO
import T2UCore
import T2UNIO

/// Keeps a `PostgresRegistry` and the shared database in step, from the server's side: writes
/// this server's registrations (batched each tick; keepalives coalesced by the registry),
/// applies other servers' changes (LISTEN/NOTIFY, then a full resync every `resyncInterval`),
/// expires rows by `last_seen` in SQL, and passes peer introductions both ways.
///
/// When the database goes away the server keeps serving from its mirror (other servers' rows are
/// held, not expired); writes wait in the registry (one per row at most), the connection is
/// retried with backoff, and on reconnect every live row of this server is written again and
/// the mirror resynced at once. A server may also start while the database is down.
///
/// The servers heartbeat through `t2u_servers`: a server silent for `serverSilenceLimit` is
/// taken as dead, and its agents leave the other servers' mirrors (queries say offline) within
/// seconds instead of at their presence timeout. A server that stops says so (`goodbye`).
public final class PostgresSync: Sendable {
    public struct Options: Sendable {
        public var url: PostgresURL
        /// How often queued writes and notifications are processed.
        public var tick: Nanos = .milliseconds(100)
        /// Full resync of the mirror (covers lost notifications) and SQL expiry.
        public var resyncInterval: Nanos = .seconds(10)
        /// Rows not refreshed for this long are expired (the core's presence timeout).
        public var presenceTimeout: Nanos = .seconds(65)
        /// A round of database work taking longer than this closes the connection (a database
        /// host gone without a reset leaves queries waiting forever); it is then reopened.
        public var operationTimeout: Nanos = .seconds(10)
        /// How often this server's `t2u_servers` row is refreshed and the others' are read.
        public var heartbeatInterval: Nanos = .seconds(1)
        /// A server whose row is older than this is taken as dead: its agents are unreachable.
        public var serverSilenceLimit: Nanos = .seconds(4)
        public var reconnectMin: Nanos = .milliseconds(250)
        public var reconnectMax: Nanos = .seconds(5)
        /// Peer introductions waiting while the database is down, at most.
        public var maxQueuedIntroductions = 10_000
        /// Authenticates NOTIFY payloads and binding rows between the servers (required).
        public var clusterKey: ClusterKey
        /// Sealed payloads older (or newer) than this many seconds of wall clock are dropped.
        public var maxNotifyAge: Int64 = 60

        public init(url: PostgresURL, clusterKey: ClusterKey) {
            self.url = url
            self.clusterKey = clusterKey
        }
    }

    package let options: Options
    let registry: NIOLoopBound<PostgresRegistry>
    let loop: EventLoop
    let serverID: String
    let advertise: NetAddress
    let logger: Logger
    /// What the server connects before `start`.
    private struct Wiring {
        var onPeerIntroduction: (@Sendable (PeerIntroduction) -> Void)?
        var bindings: NIOLoopBound<PersistentDeviceBindings>?
        var onBindingOverridden: (@Sendable (String, [UInt8]) -> Void)?
        var bindingsCache: BindingsFileStore?
    }
    private let wiring = NIOLockedValueBox(Wiring())

    /// Called on `loop` with an introduction from a peer server.
    var onPeerIntroduction: (@Sendable (PeerIntroduction) -> Void)? {
        get { wiring.withLockedValue { $0.onPeerIntroduction } }
        set { wiring.withLockedValue { $0.onPeerIntroduction = newValue } }
    }
    /// The bindings shared through `t2u_device_bindings` (the database is the authority); only
    /// touched on `loop`. Set before `start`.
    var bindings: NIOLoopBound<PersistentDeviceBindings>? {
        get { wiring.withLockedValue { $0.bindings } }
        set { wiring.withLockedValue { $0.bindings = newValue } }
    }
    /// Called on `loop` when the database holds another key for a UUID than the one bound here
    /// (uuid, the key we had): a device registered here under that key must be dropped.
    var onBindingOverridden: (@Sendable (String, [UInt8]) -> Void)? {
        get { wiring.withLockedValue { $0.onBindingOverridden } }
        set { wiring.withLockedValue { $0.onBindingOverridden = newValue } }
    }
    /// `--bindings-file` with `--database`: a copy of the database's bindings, read at start, so a
    /// server started while the database is down still knows which key holds which UUID.
    var bindingsCache: BindingsFileStore? {
        get { wiring.withLockedValue { $0.bindingsCache } }
        set { wiring.withLockedValue { $0.bindingsCache = newValue } }
    }

    /// The sync's own state: its tasks, and what only the sync loop reads and writes (behind a
    /// lock all the same, so the compiler can check the class).
    private struct SyncState {
        var task: Task<Void, Never>?
        var ticker: Task<Void, Never>?
        /// Migration, binding load and stale-row cleanup still to do (the database was down at start).
        var needsSetUp = false
        /// The bindings' revision last written to the cache, and when it may be written again.
        var cachedRevision: UInt64?
        var nextCacheWrite = Instant(nanoseconds: 0)
    }
    private let syncState = NIOLockedValueBox(SyncState())

    private struct Inbox {
        var presence: [PostgresCodec.PresenceChange] = []
        var introductions: [PeerIntroduction] = []
        var outgoing: [PeerIntroduction] = []
        var bindingNotes: [PostgresCodec.BindingNote] = []
    }

    private let inbox = NIOLockedValueBox(Inbox())
    /// Wakes the sync loop: every `tick`, and at once for introductions and notifications (an
    /// introduction's latency adds to connection setup).
    private let (doorbell, ring) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
    private let connectedBox = NIOLockedValueBox(false)
    /// Server IDs in the last `t2u_servers` read.
    private let knownServers = NIOLockedValueBox(Set<String>())
    private let configuration: PostgresConnection.Configuration
    private let connectionIDs = ConnectionCounter()
    private let rejectedBox = NIOLockedValueBox(0)
    private let rejectedRowsBox = NIOLockedValueBox(0)
    private let rejectedServerRowsBox = NIOLockedValueBox(0)
    /// Set by `stop`: the sync loop says goodbye and ends.
    private let stopping = NIOLockedValueBox(false)

    init(
        options: Options, registry: NIOLoopBound<PostgresRegistry>, serverID: String, advertise: NetAddress,
        logger: Logger
    )
        throws
    {
        self.options = options
        self.registry = registry
        self.loop = registry.eventLoop
        self.serverID = serverID
        self.advertise = advertise
        self.logger = logger
        self.configuration = try options.url.configuration()
    }

    /// Whether the database connection is up now.
    package var isConnected: Bool { connectedBox.withLockedValue { $0 } }

    /// NOTIFY payloads dropped: MAC failed (a sender without the cluster key), stale or malformed.
    package var rejectedNotifications: Int { rejectedBox.withLockedValue { $0 } }

    /// Presence rows skipped because their MAC failed (written without the cluster key).
    package var rejectedPresenceRows: Int { rejectedRowsBox.withLockedValue { $0 } }

    /// Server rows skipped because their MAC failed (written without the cluster key).
    package var rejectedServerRows: Int { rejectedServerRowsBox.withLockedValue { $0 } }

    /// Connects, migrates the schema and drops rows a previous run of this server left; then
    /// keeps syncing in the background. A database that cannot be reached (refused, timed out)
    /// does not stop the start: the server serves its own agents and sets up when it returns.
    /// Any other failure (credentials, permissions, a broken schema) throws.
    func start() async throws {
        var first: PostgresConnection?
        do {
            let connection = try await connect()
            do {
                try await setUp(connection)
            } catch {
                try? await connection.close()
                throw error
            }
            first = connection
        } catch let error as PSQLError where error.code == .connectionError {
            syncState.withLockedValue { $0.needsSetUp = true }
            if let bindings { try await loop.submit { bindings.value.awaitingAuthority = true }.get() }
            logger.error(
                """
                database unreachable at start: serving this server's own agents from memory and retrying; devices without a \
                vendor certificate are asked to retry until the database's bindings are loaded. Check that PostgreSQL runs \
                and accepts connections from here
                """, metadata: ["database": "\(options.url)", "error": "\(String(reflecting: error))"])
        }
        let task = Task { [self, first] in await run(first: first) }
        let ticker = Task { [ring, tick = options.tick] in
            while !Task.isCancelled {
                try? await Task.sleep(nanoseconds: UInt64(tick.value))
                ring.yield()
            }
        }
        syncState.withLockedValue {
            $0.task = task
            $0.ticker = ticker
        }
    }

    /// Says goodbye (other servers drop this server's agents at once) and stops; cancels the
    /// sync if the goodbye has not ended within a few seconds.
    func stop() async {
        stopping.withLockedValue { $0 = true }
        ring.yield()
        let (task, ticker) = syncState.withLockedValue { state in
            defer {
                state.task = nil
                state.ticker = nil
            }
            return (state.task, state.ticker)
        }
        if let task {
            let deadline = Task {
                try? await Task.sleep(nanoseconds: 3_000_000_000)
                task.cancel()
            }
            await task.value
            deadline.cancel()
        }
        ticker?.cancel()
        ring.finish()
    }

    /// Queues an introduction for its target server (sent on the next tick).
    func send(_ intro: PeerIntroduction) {
        inbox.withLockedValue { inbox in
            if inbox.outgoing.count >= options.maxQueuedIntroductions { inbox.outgoing.removeFirst() }
            inbox.outgoing.append(intro)
        }
        ring.yield()
    }

    // MARK: Connection lifecycle

    private func connect() async throws -> PostgresConnection {
        try await PostgresConnection.connect(configuration: configuration, id: connectionIDs.next(), logger: logger)
    }

    /// Once per process, on the first connection: schema, bindings, and the rows a previous run
    /// of this server left (its live agents are written again by the session).
    private func setUp(_ connection: PostgresConnection) async throws {
        try await migrate(connection)
        try await loadBindings(connection)
        try await connection.query("DELETE FROM t2u_presence WHERE home_server = \(serverID)", logger: logger)
        try await announce(connection)
    }

    private func migrate(_ connection: PostgresConnection) async throws {
        try await connection.query("BEGIN", logger: logger)
        do {
            try await connection.query("SELECT pg_advisory_xact_lock(\(PostgresSchema.lockKey))", logger: logger)
            try await connection.query(
                "CREATE TABLE IF NOT EXISTS t2u_schema (version integer NOT NULL)", logger: logger)
            var version = 0
            for try await v in try await connection.query("SELECT max(version) FROM t2u_schema", logger: logger).decode(
                Int?.self)
            {
                version = v ?? 0
            }
            for (index, statements) in PostgresSchema.migrations.enumerated() where index + 1 > version {
                for statement in statements {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await connection.query("INSERT INTO t2u_schema (version) VALUES (\(index + 1))", logger: logger)
                logger.info("database schema migrated", metadata: ["version": "\(index + 1)"])
            }
            try await connection.query("COMMIT", logger: logger)
        } catch {
            _ = try? await connection.query("ROLLBACK", logger: logger)
            throw error
        }
    }

    private func run(first: PostgresConnection?) async {
        var connection: PostgresConnection? = first
        var backoff = options.reconnectMin
        while !Task.isCancelled && !stopping.withLockedValue({ $0 }) {
            if connection == nil {
                do {
                    let fresh = try await connect()
                    connection = fresh
                    if syncState.withLockedValue({ $0.needsSetUp }) {
                        try await setUp(fresh)
                        syncState.withLockedValue { $0.needsSetUp = false }
                    }
                    logger.notice("database connection restored")
                    backoff = options.reconnectMin
                } catch {
                    if let opened = connection { try? await opened.close() }
                    connection = nil
                    logger.debug(
                        "database unreachable",
                        metadata: ["error": "\(String(reflecting: error))", "retryIn": "\(backoff)"])
                    try? await Task.sleep(nanoseconds: UInt64(backoff.value))
                    backoff = min(backoff * 2, options.reconnectMax)
                    continue
                }
            }
            guard let current = connection else { continue }
            do {
                try await session(current)
            } catch {
                if !Task.isCancelled {
                    logger.warning(
                        "database connection lost; serving from the local mirror",
                        metadata: ["error": "\(String(reflecting: error))"])
                }
            }
            connectedBox.withLockedValue { $0 = false }
            try? await loop.submit { [registry] in registry.value.holdsRemoteRows = true }.get()
            try? await current.close()
            connection = nil
        }
        // Stopped before the first session ran: the connection from start() is still open.
        if let connection { try? await connection.close() }
    }

    /// One connection's life: listen, announce ourselves, rewrite our rows, then tick.
    private func session(_ connection: PostgresConnection) async throws {
        let presence = connection.addListener(channel: PostgresSchema.presenceChannel) {
            [inbox, ring, opener] _, note in
            guard let body = opener.open(channel: PostgresSchema.presenceChannel, payload: note.payload) else { return }
            guard let change = PostgresCodec.presenceChange(body) else {
                return opener.reject("malformed presence change", body)
            }
            inbox.withLockedValue { $0.presence.append(change) }
            ring.yield()
        }
        let peerChannel = PostgresSchema.peerChannel(serverID: serverID)
        let peers = connection.addListener(channel: peerChannel) { [inbox, ring, opener] _, note in
            guard let body = opener.open(channel: peerChannel, payload: note.payload) else { return }
            guard let intro = PostgresCodec.peerIntroduction(body) else {
                return opener.reject("malformed peer introduction", body)
            }
            inbox.withLockedValue { $0.introductions.append(intro) }
            ring.yield()
        }
        let bindingNotes = connection.addListener(channel: PostgresSchema.bindingsChannel) {
            [inbox, ring, opener, serverID] _, note in
            guard let body = opener.open(channel: PostgresSchema.bindingsChannel, payload: note.payload) else { return }
            guard let change = PostgresCodec.bindingNote(body) else {
                return opener.reject("malformed binding change", body)
            }
            guard change.server != serverID else { return }
            inbox.withLockedValue { $0.bindingNotes.append(change) }
            ring.yield()
        }
        // Wake the loop when the connection closes, and close it when a round hangs.
        connection.closeFuture.whenComplete { [ring] _ in ring.yield() }
        let progress = NIOLockedValueBox(MonotonicClock.now())
        let watchdog = Task { [options, logger] in
            while !Task.isCancelled && !connection.isClosed {
                try? await Task.sleep(nanoseconds: 500_000_000)
                if MonotonicClock.now() - progress.withLockedValue({ $0 }) > options.operationTimeout {
                    logger.warning("database not answering; closing the connection")
                    try? await connection.close()
                    return
                }
            }
        }
        defer {
            watchdog.cancel()
            presence.stop()
            peers.stop()
            bindingNotes.stop()
        }
        // A round trip after the LISTENs, so they are in place before the resync below.
        try await connection.query("SELECT 1", logger: logger)
        // Changes made by other servers while we were away.
        try await loadBindings(connection)
        try await loop.submit { [registry] in registry.value.refreshAllLocal() }.get()
        connectedBox.withLockedValue { $0 = true }
        var nextResync = MonotonicClock.now()
        var nextHeartbeat = MonotonicClock.now()
        var heartbeats = ServerHeartbeats(selfID: serverID)
        for await _ in doorbell {
            progress.withLockedValue { $0 = MonotonicClock.now() }
            if connection.isClosed { throw PostgresSyncError.connectionClosed }
            if stopping.withLockedValue({ $0 }) {
                try await goodbye(connection)
                return
            }
            if MonotonicClock.now() >= nextHeartbeat {
                if try await heartbeat(connection, &heartbeats) { nextResync = MonotonicClock.now() }
                nextHeartbeat = MonotonicClock.now() + options.heartbeatInterval
            }
            if MonotonicClock.now() >= nextResync {
                try await resync(connection)
                nextResync = MonotonicClock.now() + options.resyncInterval
            }
            try await flushIntroductions(connection)
            try await applyNotifications(connection)
            try await flushBindings(connection)
            try await applyBindingNotes(connection)
            try await saveBindingsCache(force: false)
            try await flushWrites(connection)
            if Task.isCancelled { break }
        }
    }

    // MARK: Ticks

    private var timeoutSeconds: Double { Double(options.presenceTimeout.value) / 1e9 }

    private func flushWrites(_ connection: PostgresConnection) async throws {
        let writes = try await loop.submit { [registry] in registry.value.takeWrites() }.get()
        guard !writes.isEmpty else { return }
        // One transaction per batch: one commit (and WAL flush) for all of them.
        do {
            try await connection.query("BEGIN", logger: logger)
            for write in writes { try await apply(write, connection) }
            try await connection.query("COMMIT", logger: logger)
        } catch {
            _ = try? await connection.query("ROLLBACK", logger: logger)
            try? await loop.submit { [registry] in registry.value.requeue(writes) }.get()
            throw error
        }
    }

    private func apply(_ write: PostgresRegistry.Write, _ connection: PostgresConnection) async throws {
        switch write {
        case .claim(let r):
            try await connection.query(
                """
                INSERT INTO t2u_presence (role, uuid, home_server, address, public_key, extra, candidates, last_seen, mac)
                VALUES (\(Int16(r.role.rawValue)), \(r.uuid), \(serverID), \(PostgresCodec.text(r.address)),
                        \(ByteBuffer(bytes: r.publicKey)), \(ByteBuffer(bytes: r.extra)), \(PostgresCodec.text(r.candidates)), now(),
                        \(ByteBuffer(bytes: presenceMAC(r))))
                ON CONFLICT (role, uuid) DO UPDATE SET home_server = EXCLUDED.home_server, address = EXCLUDED.address,
                    public_key = EXCLUDED.public_key, extra = EXCLUDED.extra, candidates = EXCLUDED.candidates, last_seen = now(),
                    mac = EXCLUDED.mac
                """, logger: logger)
            try await announcePresence("upsert", role: r.role, uuid: r.uuid, connection)
        case .refresh(let r):
            let rows = try await connection.query(
                """
                INSERT INTO t2u_presence (role, uuid, home_server, address, public_key, extra, candidates, last_seen, mac)
                VALUES (\(Int16(r.role.rawValue)), \(r.uuid), \(serverID), \(PostgresCodec.text(r.address)),
                        \(ByteBuffer(bytes: r.publicKey)), \(ByteBuffer(bytes: r.extra)), \(PostgresCodec.text(r.candidates)), now(),
                        \(ByteBuffer(bytes: presenceMAC(r))))
                ON CONFLICT (role, uuid) DO UPDATE SET address = EXCLUDED.address, last_seen = now(), mac = EXCLUDED.mac
                    WHERE t2u_presence.home_server = EXCLUDED.home_server
                RETURNING (xmax = 0)
                """, logger: logger)
            // Keepalives are not announced; a re-inserted row (gone after an outage) is.
            var inserted = false
            for try await wasInsert in rows.decode(Bool.self) { inserted = inserted || wasInsert }
            if inserted { try await announcePresence("upsert", role: r.role, uuid: r.uuid, connection) }
        case .release(let role, let uuid):
            let rows = try await connection.query(
                "DELETE FROM t2u_presence WHERE role = \(Int16(role.rawValue)) AND uuid = \(uuid) AND home_server = \(serverID) RETURNING 1",
                logger: logger)
            var deleted = false
            for try await _ in rows.decode(Int.self) { deleted = true }
            if deleted { try await announcePresence("delete", role: role, uuid: uuid, connection) }
        }
    }

    /// The MAC of the row this server writes for `r` (home: this server).
    private func presenceMAC(_ r: PresenceRecord) -> [UInt8] {
        options.clusterKey.presenceMAC(
            role: r.role.rawValue, uuid: r.uuid, home: serverID, address: PostgresCodec.text(r.address),
            publicKey: r.publicKey, extra: r.extra, candidates: PostgresCodec.text(r.candidates))
    }

    /// A sealed presence change on the presence channel (delivered when the batch commits).
    private func announcePresence(
        _ op: String, role: SignalingRole, uuid: String, _ connection: PostgresConnection
    ) async throws {
        let change = PostgresCodec.PresenceChange(op: op, role: Int(role.rawValue), uuid: uuid, home: serverID)
        try await notify(PostgresSchema.presenceChannel, PostgresCodec.payload(change), connection)
    }

    /// pg_notify with the payload sealed under the cluster key for `channel`.
    private func notify(_ channel: String, _ body: String, _ connection: PostgresConnection) async throws {
        let sealed = options.clusterKey.seal(channel: channel, body: body, unixSeconds: Self.unixSeconds())
        try await connection.query("SELECT pg_notify(\(channel), \(sealed))", logger: logger)
    }

    static func unixSeconds() -> Int64 { Int64(Date().timeIntervalSince1970) }

    /// Opens sealed NOTIFY payloads in the listeners (any thread): what fails is counted and logged.
    private var opener: NotifyOpener {
        NotifyOpener(key: options.clusterKey, maxAge: options.maxNotifyAge, rejected: rejectedBox, logger: logger)
    }

    private func flushIntroductions(_ connection: PostgresConnection) async throws {
        let outgoing = inbox.withLockedValue { inbox in
            defer { inbox.outgoing.removeAll() }
            return inbox.outgoing
        }
        var done = 0
        do {
            for intro in outgoing {
                try await notify(
                    PostgresSchema.peerChannel(serverID: intro.targetServerID), PostgresCodec.payload(intro), connection
                )
                done += 1
            }
        } catch {
            // Not yet sent: first in line again when the connection is back.
            let failed = Array(outgoing[done...])
            inbox.withLockedValue { $0.outgoing.insert(contentsOf: failed, at: 0) }
            throw error
        }
    }

    private func applyNotifications(_ connection: PostgresConnection) async throws {
        let (changes, introductions) = inbox.withLockedValue { inbox in
            defer {
                inbox.presence.removeAll()
                inbox.introductions.removeAll()
            }
            return (inbox.presence, inbox.introductions)
        }
        if !introductions.isEmpty, let handler = onPeerIntroduction {
            loop.execute { for intro in introductions { handler(intro) } }
        }
        // One read per row changed by another server (the last change of a row wins).
        var latest: [PostgresRegistry.Key: PostgresCodec.PresenceChange] = [:]
        for change in changes where change.home != serverID || change.op == "delete" {
            guard let role = SignalingRole(rawValue: UInt8(truncatingIfNeeded: change.role)) else { continue }
            latest[PostgresRegistry.Key(role: role, uuid: change.uuid)] = change
        }
        let known = knownServers.withLockedValue { $0 }
        if latest.values.contains(where: { $0.op != "delete" && !known.contains($0.home) }) {
            // A server started since our last resync: learn its address before its devices.
            let servers = try await loadServers(connection)
            try await loop.submit { [registry] in registry.value.setServers(servers) }.get()
        }
        for (key, change) in latest {
            let rows = try await fetch(connection, role: key.role, uuid: key.uuid)
            if let row = rows.first {
                try await loop.submit { [registry] in
                    registry.value.applyRemote(row.record, age: row.age, now: MonotonicClock.now())
                }.get()
            } else if change.home != serverID {
                try await loop.submit { [registry] in registry.value.removeRemote(role: key.role, uuid: key.uuid) }
                    .get()
            }
        }
    }

    // MARK: Bindings (the database is the authority)

    /// Every binding row whose MAC holds replaces ours; rows with a bad MAC are counted and skipped.
    private func loadBindings(_ connection: PostgresConnection) async throws {
        guard let bindings else { return }
        var rows: [DeviceBinding] = []
        var present = Set<String>()
        var bad = 0
        let sequence = try await connection.query(
            "SELECT uuid, public_key, mac FROM t2u_device_bindings", logger: logger
        )
        .decode((String, ByteBuffer, ByteBuffer).self)
        for try await (uuid, key, mac) in sequence {
            present.insert(uuid)
            let binding = DeviceBinding(uuid: uuid, publicKey: Array(buffer: key))
            if options.clusterKey.bindingValid(uuid: uuid, publicKey: binding.publicKey, mac: Array(buffer: mac)) {
                rows.append(binding)
            } else {
                bad += 1
                logger.error(
                    "binding row with a bad MAC ignored (written without this cloud's cluster key)",
                    metadata: ["uuid": "\(uuid)"])
            }
        }
        try await loop.submit { [rows, present, bad, onBindingOverridden] in
            for _ in 0..<bad { bindings.value.countBadMAC() }
            for (uuid, previous) in bindings.value.applyStoredSnapshot(rows, present: present) {
                onBindingOverridden?(uuid, previous)
            }
            bindings.value.awaitingAuthority = false
        }.get()
        logger.info("device bindings loaded", metadata: ["bindings": "\(rows.count)", "badMAC": "\(bad)"])
        try await saveBindingsCache(force: true)
    }

    /// How often the cache file may be rewritten (a whole-file rewrite: bursts of new devices are batched).
    static let bindingsCacheInterval = Nanos.seconds(5)

    /// Rewrites the cache file with the bindings as they are now, when they changed since the last
    /// write (at most once per `bindingsCacheInterval` unless `force`).
    private func saveBindingsCache(force: Bool) async throws {
        guard let bindingsCache, let bindings else { return }
        let now = MonotonicClock.now()
        let (due, last) = syncState.withLockedValue { (force || now >= $0.nextCacheWrite, $0.cachedRevision) }
        guard due else { return }
        let snapshot = try await loop.submit { () -> (UInt64, [DeviceBinding])? in
            let revision = bindings.value.revision
            return revision == last ? nil : (revision, bindings.value.all)
        }.get()
        guard let (revision, all) = snapshot else { return }
        bindingsCache.replaceAll(all)
        syncState.withLockedValue {
            $0.cachedRevision = revision
            $0.nextCacheWrite = now + Self.bindingsCacheInterval
        }
    }

    /// Writes the bindings' changes; a bind or rebind is insert-if-absent / compare-and-swap,
    /// then read back: whatever the database holds wins (two servers racing end with one key).
    private func flushBindings(_ connection: PostgresConnection) async throws {
        guard let bindings else { return }
        let changes = try await loop.submit { bindings.value.takeChanges() }.get()
        var done = 0
        do {
            for change in changes {
                try await write(change, connection)
                done += 1
            }
        } catch {
            let failed = Array(changes[done...])
            try? await loop.submit { bindings.value.requeue(failed) }.get()
            throw error
        }
    }

    private func write(_ change: BindingChange, _ connection: PostgresConnection) async throws {
        let key = options.clusterKey
        switch change {
        case .bind(let b):
            try await insertIfAbsent(b, connection)
            try await reconcile(b, connection)
        case .rebind(let b, let previous):
            try await connection.query(
                """
                UPDATE t2u_device_bindings SET public_key = \(ByteBuffer(bytes: b.publicKey)),
                    mac = \(ByteBuffer(bytes: key.bindingMAC(uuid: b.uuid, publicKey: b.publicKey))), bound_at = now()
                WHERE uuid = \(b.uuid) AND public_key = \(ByteBuffer(bytes: previous))
                """, logger: logger)
            try await insertIfAbsent(b, connection)
            try await reconcile(b, connection)
        case .release(let uuid):
            try await connection.query("DELETE FROM t2u_device_bindings WHERE uuid = \(uuid)", logger: logger)
            try await notify(
                PostgresSchema.bindingsChannel,
                PostgresCodec.payload(PostgresCodec.BindingNote(op: "release", uuid: uuid, server: serverID)),
                connection)
        }
    }

    private func insertIfAbsent(_ b: DeviceBinding, _ connection: PostgresConnection) async throws {
        let mac = options.clusterKey.bindingMAC(uuid: b.uuid, publicKey: b.publicKey)
        try await connection.query(
            """
            INSERT INTO t2u_device_bindings (uuid, public_key, bound_at, mac)
            VALUES (\(b.uuid), \(ByteBuffer(bytes: b.publicKey)), now(), \(ByteBuffer(bytes: mac)))
            ON CONFLICT (uuid) DO NOTHING
            """, logger: logger)
    }

    /// Reads the row of `ours` back: another key there (a valid row) replaces ours; a row with a
    /// bad MAC is overwritten by ours (compare-and-swap on that MAC) and counted.
    private func reconcile(_ ours: DeviceBinding, _ connection: PostgresConnection) async throws {
        guard let bindings, let (stored, mac) = try await readBinding(ours.uuid, connection) else { return }
        let key = options.clusterKey
        if !key.bindingValid(uuid: ours.uuid, publicKey: stored, mac: mac) {
            logger.error("binding row with a bad MAC replaced by ours", metadata: ["uuid": "\(ours.uuid)"])
            try await loop.submit { bindings.value.countBadMAC() }.get()
            try await connection.query(
                """
                UPDATE t2u_device_bindings SET public_key = \(ByteBuffer(bytes: ours.publicKey)),
                    mac = \(ByteBuffer(bytes: key.bindingMAC(uuid: ours.uuid, publicKey: ours.publicKey))), bound_at = now()
                WHERE uuid = \(ours.uuid) AND mac = \(ByteBuffer(bytes: mac))
                """, logger: logger)
            return try await reconcile(ours, connection)
        }
        if stored != ours.publicKey {
            logger.warning(
                "UUID already bound to another key by another server; the database's binding holds",
                metadata: ["uuid": "\(ours.uuid)"])
            let winner = DeviceBinding(uuid: ours.uuid, publicKey: stored)
            try await loop.submit { [onBindingOverridden] in
                if let previous = bindings.value.applyStored(winner) { onBindingOverridden?(winner.uuid, previous) }
            }.get()
            return
        }
        try await notify(
            PostgresSchema.bindingsChannel,
            PostgresCodec.payload(PostgresCodec.BindingNote(op: "bind", uuid: ours.uuid, server: serverID)), connection)
    }

    private func readBinding(_ uuid: String, _ connection: PostgresConnection) async throws -> ([UInt8], [UInt8])? {
        let rows = try await connection.query(
            "SELECT public_key, mac FROM t2u_device_bindings WHERE uuid = \(uuid)", logger: logger
        )
        .decode((ByteBuffer, ByteBuffer).self)
        for try await (key, mac) in rows { return (Array(buffer: key), Array(buffer: mac)) }
        return nil
    }

    /// Other servers' binding changes: the row is read (and its MAC checked) for each UUID named.
    private func applyBindingNotes(_ connection: PostgresConnection) async throws {
        guard let bindings else { return }
        let notes = inbox.withLockedValue { inbox in
            defer { inbox.bindingNotes.removeAll() }
            return inbox.bindingNotes
        }
        for uuid in Set(notes.map(\.uuid)) {
            let row = try await readBinding(uuid, connection)
            let key = options.clusterKey
            try await loop.submit { [onBindingOverridden] in
                guard let (stored, mac) = row else { return bindings.value.applyStoredRelease(uuid: uuid) }
                guard key.bindingValid(uuid: uuid, publicKey: stored, mac: mac) else {
                    return bindings.value.countBadMAC()
                }
                if let previous = bindings.value.applyStored(DeviceBinding(uuid: uuid, publicKey: stored)) {
                    onBindingOverridden?(uuid, previous)
                }
            }.get()
        }
    }

    private func resync(_ connection: PostgresConnection) async throws {
        try await announce(connection)
        try await connection.query(
            "DELETE FROM t2u_presence WHERE last_seen < now() - make_interval(secs => \(timeoutSeconds))",
            logger: logger)
        // Rows of server IDs gone for a day (a renamed or retired server) are kept no longer.
        try await connection.query("DELETE FROM t2u_servers WHERE last_seen < now() - interval '1 day'", logger: logger)
        let servers = try await loadServers(connection)
        let rows = try await fetch(connection, role: nil, uuid: nil)
        try await loop.submit { [registry] in
            registry.value.setServers(servers)
            registry.value.resync(rows, now: MonotonicClock.now())
            registry.value.holdsRemoteRows = false
        }.get()
    }

    /// Refreshes our row, reads everyone's age, and drops the agents of servers that fell
    /// silent from the mirror. True when a server came back (its rows are read at once).
    private func heartbeat(_ connection: PostgresConnection, _ heartbeats: inout ServerHeartbeats) async throws -> Bool
    {
        try await announce(connection)
        var ages: [String: Double] = [:]
        for try await (id, age) in try await connection.query(
            "SELECT server_id, extract(epoch FROM (now() - last_seen))::float8 FROM t2u_servers", logger: logger
        ).decode((String, Double).self) {
            ages[id] = age
        }
        let change = heartbeats.update(ages: ages, silenceLimit: Double(options.serverSilenceLimit.value) / 1e9)
        for id in change.fellSilent {
            let dropped = try await loop.submit { [registry] in registry.value.removeRows(homedAt: id) }.get()
            logger.warning(
                "server fell silent: its agents are reported offline until they register elsewhere or it returns",
                metadata: ["server": "\(id)", "agents": "\(dropped)"])
        }
        for id in change.returned { logger.notice("server heard again", metadata: ["server": "\(id)"]) }
        return !change.returned.isEmpty
    }

    /// Our row is aged past the silence limit (the others drop our agents at their next
    /// heartbeat, not at the presence timeout) and our rows are deleted.
    private func goodbye(_ connection: PostgresConnection) async throws {
        try await connection.query(
            "UPDATE t2u_servers SET last_seen = 'epoch' WHERE server_id = \(serverID)", logger: logger)
        try await connection.query("DELETE FROM t2u_presence WHERE home_server = \(serverID)", logger: logger)
        logger.info("said goodbye to the other servers")
    }

    /// This server's row in `t2u_servers`: where the others relay its devices' sessions.
    private func announce(_ connection: PostgresConnection) async throws {
        let text = PostgresCodec.text(advertise)
        let mac = ByteBuffer(bytes: options.clusterKey.serverMAC(serverID: serverID, advertise: text))
        try await connection.query(
            """
            INSERT INTO t2u_servers (server_id, advertise, last_seen, mac) VALUES (\(serverID), \(text), now(), \(mac))
            ON CONFLICT (server_id) DO UPDATE SET advertise = EXCLUDED.advertise, last_seen = now(), mac = EXCLUDED.mac
            """, logger: logger)
    }

    private func loadServers(_ connection: PostgresConnection) async throws -> [String: NetAddress] {
        var servers: [String: NetAddress] = [:]
        for try await (id, text, mac) in try await connection.query(
            "SELECT server_id, advertise, mac FROM t2u_servers", logger: logger
        )
        .decode((String, String, ByteBuffer).self) {
            guard options.clusterKey.serverValid(serverID: id, advertise: text, mac: Array(buffer: mac)) else {
                rejectedServerRowsBox.withLockedValue { $0 += 1 }
                logger.warning(
                    "server row with a bad MAC skipped (written without this cloud's cluster key); its server is used again when it announces itself",
                    metadata: ["server": "\(id)"])
                continue
            }
            if let address = PostgresCodec.address(text) { servers[id] = address }
        }
        knownServers.withLockedValue { $0 = Set(servers.keys) }
        return servers
    }

    /// Live rows of other servers: one (role, uuid), or all of them.
    private func fetch(
        _ connection: PostgresConnection, role: SignalingRole?, uuid: String?
    ) async throws
        -> [(record: PresenceRecord, age: Nanos)]
    {
        let columns = """
            SELECT role, uuid, home_server, address, public_key, extra, candidates,
                   extract(epoch FROM (now() - last_seen))::float8, mac FROM t2u_presence
            """
        // Live: refreshed within the presence timeout, and homed on a server still heard (a
        // silent server's agents cannot be reached through it). Only our own numbers are spliced
        // in; the server ID and UUID stay bound parameters.
        let silence = Double(options.serverSilenceLimit.value) / 1e9
        let live = """
            last_seen >= now() - make_interval(secs => \(timeoutSeconds))
            AND home_server IN (SELECT server_id FROM t2u_servers WHERE last_seen >= now() - make_interval(secs => \(silence)))
            """
        let query: PostgresQuery
        if let role, let uuid {
            query =
                "\(unescaped: columns) WHERE role = \(Int16(role.rawValue)) AND uuid = \(uuid) AND home_server <> \(serverID) AND \(unescaped: live)"
        } else {
            query = "\(unescaped: columns) WHERE home_server <> \(serverID) AND \(unescaped: live)"
        }
        var rows: [(record: PresenceRecord, age: Nanos)] = []
        let sequence = try await connection.query(query, logger: logger)
            .decode((Int16, String, String, String, ByteBuffer, ByteBuffer, String, Double, ByteBuffer).self)
        for try await (roleValue, uuid, home, addressText, key, extra, candidatesText, age, mac) in sequence {
            guard
                options.clusterKey.presenceValid(
                    role: UInt8(truncatingIfNeeded: roleValue), uuid: uuid, home: home, address: addressText,
                    publicKey: Array(buffer: key),
                    extra: Array(buffer: extra), candidates: candidatesText, mac: Array(buffer: mac))
            else {
                rejectedRowsBox.withLockedValue { $0 += 1 }
                logger.warning(
                    "presence row with a bad MAC skipped (written without this cloud's cluster key)",
                    metadata: ["uuid": "\(uuid)", "home": "\(home)"])
                continue
            }
            guard let role = SignalingRole(rawValue: UInt8(truncatingIfNeeded: roleValue)),
                let address = PostgresCodec.address(addressText),
                let candidates = PostgresCodec.addresses(candidatesText)
            else {
                logger.warning("malformed presence row skipped", metadata: ["uuid": "\(uuid)"])
                continue
            }
            let record = PresenceRecord(
                role: role, uuid: uuid, address: address, publicKey: Array(buffer: key), extra: Array(buffer: extra),
                candidates: candidates, lastSeen: .zero, homeServerID: home, token: 0)
            rows.append((record, Nanos(Int64(max(0, age) * 1e9))))
        }
        return rows
    }
}

enum PostgresSyncError: Error {
    case connectionClosed
}

/// Checks sealed NOTIFY payloads (docs/SECURITY.md §4): a payload without a valid MAC under the
/// cluster key, or too old, is dropped and counted.
struct NotifyOpener: Sendable {
    let key: ClusterKey
    let maxAge: Int64
    let rejected: NIOLockedValueBox<Int>
    let logger: Logger

    func open(channel: String, payload: String) -> String? {
        do {
            return try key.open(
                channel: channel, payload: payload, unixSeconds: PostgresSync.unixSeconds(), maxAge: maxAge)
        } catch {
            reject("notification refused (\(error)): not sealed with this cloud's cluster key, or replayed", payload)
            return nil
        }
    }

    func reject(_ what: String, _ payload: String) {
        rejected.withLockedValue { $0 += 1 }
        logger.warning("\(what)", metadata: ["payload": "\(payload.prefix(200))"])
    }
}

/// Connection IDs for PostgresNIO's logs.
private final class ConnectionCounter: Sendable {
    private let value = NIOLockedValueBox(0)
    func next() -> Int {
        value.withLockedValue {
            $0 += 1
            return $0
        }
    }
}
