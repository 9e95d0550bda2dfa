// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Foundation
import Logging
import NIOCore
import PostgresNIO
import T2UCore
import Testing

@testable import T2UServer

/// Helpers of the binding tests below, which run in the PostgresCloudTests suite: it is
/// serialized, and one of its tests restarts the database, which must not overlap these.
enum BindingsDB {
    static let server = StaticIdentity.generate(SeededEntropy(seed: 11))

    static func admit(_ s: TestServer, _ uuid: String, _ key: [UInt8]) async throws -> BindingDecision {
        try await s.runner.withBindings { bindings in
            bindings.admit(
                DeviceRegistration(uuid: uuid, publicKey: key, cookie: [UInt8](repeating: 0, count: 20)),
                server: server, now: .zero)
        }
    }

    static func bound(_ s: TestServer, _ uuid: String) async throws -> [UInt8]? {
        try await s.runner.withBindings { $0.boundKey(uuid: uuid) }
    }

    /// One statement straight to the database, as another tenant would.
    static func sql(_ query: PostgresQuery) async throws {
        let logger = Logger(label: "test.db")
        let connection = try await PostgresConnection.connect(
            configuration: try PostgresURL(try TestDatabase.requireURL()).configuration(), id: 2, logger: logger)
        defer { Task { try? await connection.close() } }
        try await connection.query(query, logger: logger)
    }

    static func storedKey(_ uuid: String) async throws -> [UInt8]? {
        let logger = Logger(label: "test.db")
        let connection = try await PostgresConnection.connect(
            configuration: try PostgresURL(try TestDatabase.requireURL()).configuration(), id: 3, logger: logger)
        defer { Task { try? await connection.close() } }
        let rows = try await connection.query(
            "SELECT public_key FROM t2u_device_bindings WHERE uuid = \(uuid)", logger: logger
        )
        .decode(ByteBuffer.self)
        for try await key in rows { return Array(buffer: key) }
        return nil
    }
}

/// Bindings shared through PostgreSQL: the database is the authority, rows and notifications
/// are authenticated by the cluster key (docs/SECURITY.md §1, §4). Needs the test database
/// (scripts/postgres-test-db.sh start).
extension PostgresCloudTests {
    @Test func twoServersBindingOneUUIDAtOnceEndWithOneKey() async throws {
        let a = try cloudServer("bind-a-\(cloudTag())")
        let b = try cloudServer("bind-b-\(cloudTag())")
        try await a.start()
        try await b.start()
        defer {
            Task {
                await a.stop()
                await b.stop()
            }
        }
        let uuid = "race-\(cloudTag())"
        let keyA = [UInt8](repeating: 0xA1, count: 32)
        let keyB = [UInt8](repeating: 0xB2, count: 32)
        async let first = BindingsDB.admit(a, uuid, keyA)
        async let second = BindingsDB.admit(b, uuid, keyB)
        // Each server decides locally at once (sans-IO); the database settles it.
        #expect(try await first == .accepted(created: true, rebound: false))
        #expect(try await second == .accepted(created: true, rebound: false))
        try await waitUntil("both servers agree with the database") {
            guard let stored = try await BindingsDB.storedKey(uuid) else { return false }
            let onA = try await BindingsDB.bound(a, uuid)
            let onB = try await BindingsDB.bound(b, uuid)
            return onA == stored && onB == stored
        }
        let stored = try #require(try await BindingsDB.storedKey(uuid))
        #expect(stored == keyA || stored == keyB)
        let overridden =
            try await a.runner.withBindings { $0.counters.overriddenByDatabase }
            + b.runner.withBindings { $0.counters.overriddenByDatabase }
        #expect(overridden == 1)
        // The loser's key is now refused on both servers.
        let loser = stored == keyA ? keyB : keyA
        #expect(try await BindingsDB.admit(a, uuid, loser) == .refused(.identityConflict))
        #expect(try await BindingsDB.admit(b, uuid, loser) == .refused(.identityConflict))
    }

    @Test func aBindingSurvivesAServerRestartAndReachesTheOthers() async throws {
        let id = "bind-r-\(cloudTag())"
        let uuid = "keep-\(cloudTag())"
        let key = [UInt8](repeating: 0xC3, count: 32)
        let other = try cloudServer("bind-o-\(cloudTag())")
        try await other.start()
        defer { Task { await other.stop() } }
        do {
            let s = try cloudServer(id)
            try await s.start()
            #expect(try await BindingsDB.admit(s, uuid, key) == .accepted(created: true, rebound: false))
            try await waitUntil("row written") { try await BindingsDB.storedKey(uuid) == key }
            await s.stop()
        }
        // The other server learned it by NOTIFY.
        try await waitUntil("NOTIFY reached the other server") { try await BindingsDB.bound(other, uuid) == key }
        let restarted = try cloudServer(id)
        try await restarted.start()
        defer { Task { await restarted.stop() } }
        #expect(try await BindingsDB.bound(restarted, uuid) == key)
        #expect(
            try await BindingsDB.admit(restarted, uuid, [UInt8](repeating: 0xEE, count: 32))
                == .refused(.identityConflict))
        // An operator release on one server reaches the other.
        #expect(try await restarted.runner.withBindings { $0.release(uuid: uuid) })
        try await waitUntil("release reached the database") { try await BindingsDB.storedKey(uuid) == nil }
        try await waitUntil("release reached the other server") { try await BindingsDB.bound(other, uuid) == nil }
    }

    @Test func aRowWithABadMACIsIgnoredAndReplaced() async throws {
        let s = try cloudServer("bind-m-\(cloudTag())")
        try await s.start()  // migrates the schema
        await s.stop()
        let uuid = "forged-\(cloudTag())"
        let forgedKey = [UInt8](repeating: 0x66, count: 32)
        // A database tenant without the cluster key binds the UUID to its key.
        try await BindingsDB.sql(
            """
            INSERT INTO t2u_device_bindings (uuid, public_key, mac)
            VALUES (\(uuid), \(ByteBuffer(bytes: forgedKey)), \(ByteBuffer(bytes: [UInt8](repeating: 0, count: 32))))
            """)
        let fresh = try cloudServer("bind-m2-\(cloudTag())")
        try await fresh.start()
        defer { Task { await fresh.stop() } }
        #expect(try await BindingsDB.bound(fresh, uuid) == nil)
        #expect(try await fresh.runner.withBindings { $0.counters.badMAC } >= 1)
        // The real device registers: bound here, and its row replaces the forged one.
        let real = [UInt8](repeating: 0x77, count: 32)
        #expect(try await BindingsDB.admit(fresh, uuid, real) == .accepted(created: true, rebound: false))
        try await waitUntil("forged row replaced") { try await BindingsDB.storedKey(uuid) == real }
        #expect(try await BindingsDB.bound(fresh, uuid) == real)
    }

    /// A row another database role wrote would make this server vouch for the attacker's key to
    /// its clients; without the presence MAC it is never used.
    @Test func aForgedPresenceRowIsIgnored() async throws {
        let s = try cloudServer("pres-\(cloudTag())")
        try await s.start()
        defer { Task { await s.stop() } }
        let uuid = "ghost-\(cloudTag())"
        let evil = "evil-\(cloudTag())"
        // The forger keeps its fake server's heartbeat fresh too (rows of silent servers are skipped anyway).
        try await BindingsDB.sql(
            "INSERT INTO t2u_servers (server_id, advertise, last_seen) VALUES (\(evil), '127.0.0.1:9', now() + interval '1 hour')"
        )
        try await BindingsDB.sql(
            """
            INSERT INTO t2u_presence (role, uuid, home_server, address, public_key, extra, candidates, last_seen, mac)
            VALUES (\(Int16(SignalingRole.device.rawValue)), \(uuid), \(evil), '127.0.0.1:9', \(ByteBuffer(bytes: [UInt8](repeating: 0x99, count: 32))),
                    \(ByteBuffer(bytes: [UInt8]())), '', now(), \(ByteBuffer(bytes: [UInt8](repeating: 0, count: 32))))
            """)
        try await waitUntil("a resync skipped the forged row") { s.runner.rejectedPresenceRows >= 1 }
        #expect(try await s.runner.withRegistry { $0.lookup(role: .device, uuid: uuid) } == nil)
        try await BindingsDB.sql("DELETE FROM t2u_presence WHERE uuid = \(uuid)")
        try await BindingsDB.sql("DELETE FROM t2u_servers WHERE server_id = \(evil)")
    }

    /// With `--bindings-file`, a server keeps a copy of the database's bindings: started again
    /// while the database is down, it serves a device it knows under its bound key at once,
    /// still refuses another key for it, and asks only unknown UUIDs to wait for the database.
    @Test func aServerStartedDuringAnOutageDecidesFromItsBindingsCache() async throws {
        let tag = cloudTag()
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("t2u-cache-\(tag).bindings").path
        defer { try? FileManager.default.removeItem(atPath: file) }
        let uuid = "cached-\(tag)"
        let key = [UInt8](repeating: 0x31, count: 32)
        let first = try cloudServer("cache-a-\(tag)", bindingsFile: file)
        try await first.start()
        #expect(try await BindingsDB.admit(first, uuid, key) == .accepted(created: true, rebound: false))
        try await waitUntil("binding in the database") { try await BindingsDB.storedKey(uuid) == key }
        try await waitUntil("binding in the cache file", seconds: 15) {
            ((try? String(contentsOfFile: file, encoding: .utf8)) ?? "").contains(uuid)
        }
        await first.stop()

        try TestDatabase.control("pause")
        let second = try cloudServer("cache-b-\(tag)", bindingsFile: file)
        do {
            try await second.start()
            #expect(!second.runner.databaseConnected)
            #expect(try await BindingsDB.admit(second, uuid, key) == .accepted(created: false, rebound: false))
            #expect(
                try await BindingsDB.admit(second, uuid, [UInt8](repeating: 0x32, count: 32))
                    == .refused(.identityConflict))
            #expect(try await BindingsDB.admit(second, "unknown-\(tag)", key) == .refused(.capacity))
        } catch {
            try? TestDatabase.control("resume")
            await second.stop()
            throw error
        }
        try TestDatabase.control("resume")
        try await waitUntil("reconnected", seconds: 30) { second.runner.databaseConnected }
        // The database's bindings hold again: the unknown UUID may now be bound.
        try await waitUntil("unknown UUID admitted after the outage", seconds: 15) {
            try await BindingsDB.admit(second, "unknown-\(tag)", key) == .accepted(created: true, rebound: false)
        }
        await second.stop()
    }

    /// A server row's advertised address is where the others relay that server's sessions; one
    /// written without the cluster key (a new ID, or a real server's row rewritten) is not used.
    @Test func aForgedServerRowIsIgnored() async throws {
        let id = "srv-\(cloudTag())"
        let s = try cloudServer(id)
        try await s.start()
        defer { Task { await s.stop() } }
        try await waitUntil("database connected") { s.runner.databaseConnected }
        let evil = "evil-srv-\(cloudTag())"
        try await BindingsDB.sql(
            "INSERT INTO t2u_servers (server_id, advertise, last_seen) VALUES (\(evil), '127.0.0.1:9', now())")
        try await waitUntil("a resync skipped the forged server row") { s.runner.rejectedServerRows >= 1 }
        #expect(try await s.runner.withRegistry { ($0 as? PostgresRegistry)?.serverAddress(evil) } == nil)
        // Our own row, MACed by us, is read back.
        try await waitUntil("own row read") {
            try await s.runner.withRegistry { ($0 as? PostgresRegistry)?.serverAddress(id) } != nil
        }
        try await BindingsDB.sql("DELETE FROM t2u_servers WHERE server_id = \(evil)")
    }

    @Test func notificationsInjectedWithoutTheClusterKeyAreIgnored() async throws {
        let id = "bind-n-\(cloudTag())"
        let s = try cloudServer(id)
        try await s.start()
        defer { Task { await s.stop() } }
        try await waitUntil("database connected") { s.runner.databaseConnected }
        let uuid = "inject-\(cloudTag())"
        let forgedKey = [UInt8](repeating: 0x99, count: 32)
        // A forged row plus its (unsealed) notification, a bare presence change and an introduction
        // that would make the home server's device punch an address of the attacker's choosing.
        try await BindingsDB.sql(
            """
            INSERT INTO t2u_device_bindings (uuid, public_key, mac)
            VALUES (\(uuid), \(ByteBuffer(bytes: forgedKey)), \(ByteBuffer(bytes: [UInt8](repeating: 1, count: 32))))
            """)
        let note = "{\"op\":\"bind\",\"uuid\":\"\(uuid)\",\"server\":\"evil\"}"
        try await BindingsDB.sql("SELECT pg_notify('t2u_bindings', \(note))")
        try await BindingsDB.sql(
            "SELECT pg_notify('t2u_presence', '{\"op\":\"upsert\",\"role\":1,\"uuid\":\"x\",\"home\":\"evil\"}')")
        let intro = """
            {"target":"\(id)","origin":"evil","session":1,"device":"d","client":"c","cid":1,"clientAddress":"127.0.0.1:9",\
            "candidates":[],"via":"127.0.0.1:9","relay":true}
            """
        try await BindingsDB.sql("SELECT pg_notify(\(PostgresSchema.peerChannel(serverID: id)), \(intro))")
        // Sealed under another cloud's key: refused as well.
        let foreign = try ClusterKey(secret: Array("some other cloud's cluster key!!".utf8))
            .seal(channel: PostgresSchema.bindingsChannel, body: note, unixSeconds: Int64(Date().timeIntervalSince1970))
        try await BindingsDB.sql("SELECT pg_notify('t2u_bindings', \(foreign))")
        try await waitUntil("four notifications refused") { s.runner.rejectedPeerNotifications >= 4 }
        #expect(try await BindingsDB.bound(s, uuid) == nil)
        #expect(try await s.runner.counters().peerIntroductionsReceived == 0)
    }
}
