// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import T2UCore
import Testing

@testable import T2UServer

/// The registry's local mirror and write queue (no database: `PostgresSync` is tested against a
/// real one in T2UClientTests/PostgresCloudTests).
@Suite struct PostgresRegistryTests {
    static let t0 = Instant(nanoseconds: 1_000_000_000_000)

    static func record(
        _ uuid: String, home: String, token: UInt64 = 7, at: Instant = t0,
        address: NetAddress = Addr.device
    ) -> PresenceRecord {
        PresenceRecord(
            role: .device, uuid: uuid, address: address, publicKey: [UInt8](repeating: 1, count: 32), extra: [],
            candidates: [], lastSeen: at, homeServerID: home, token: token)
    }

    @Test func registrationsAreClaimedAndKeepalivesCoalesced() {
        let registry = PostgresRegistry(serverID: "a", refreshInterval: .seconds(5))
        registry.upsert(Self.record("cam", home: "a", token: 11))
        #expect(registry.takeWrites() == [.claim(Self.record("cam", home: "a", token: 11))])
        // Keepalives within the refresh interval write nothing; the first after it refreshes.
        for second in 1...4 {
            _ = registry.touch(token: 11, address: Addr.device, now: Self.t0 + .seconds(Int64(second)))
        }
        #expect(registry.takeWrites().isEmpty)
        let touched = registry.touch(token: 11, address: Addr.device, now: Self.t0 + .seconds(6))
        #expect(touched?.lastSeen == Self.t0 + .seconds(6))
        guard case .refresh(let r)? = registry.takeWrites().first else {
            Issue.record("expected a refresh")
            return
        }
        #expect(r.lastSeen == Self.t0 + .seconds(6))
        // A new address is announced at once (a claim, which notifies the other servers).
        let moved = NetAddress(ipv4: (198, 51, 100, 10), port: 50_001)
        _ = registry.touch(token: 11, address: moved, now: Self.t0 + .seconds(7))
        guard case .claim(let c)? = registry.takeWrites().first else {
            Issue.record("expected a claim")
            return
        }
        #expect(c.address == moved)
    }

    @Test func otherServersRowsHaveNoTokenAndLoseToFresherLocalRecords() {
        let registry = PostgresRegistry(serverID: "a")
        registry.applyRemote(Self.record("cam", home: "b", token: 99), age: .seconds(1), now: Self.t0)
        #expect(registry.lookup(role: .device, uuid: "cam")?.homeServerID == "b")
        #expect(registry.lookup(role: .device, uuid: "cam")?.token == 0)
        #expect(registry.lookup(token: 99) == nil && registry.lookup(token: 0) == nil, "tokens never cross servers")
        #expect(registry.touch(token: 0, address: Addr.device, now: Self.t0) == nil)
        #expect(registry.takeWrites().isEmpty, "remote rows are never written back")
        #expect(registry.count(role: .device) == 0, "the gauge counts only this server's agents")

        // Registered here afterwards: ours, and an older remote row does not take it back.
        registry.upsert(Self.record("cam", home: "a", token: 5, at: Self.t0 + .seconds(2)))
        registry.applyRemote(Self.record("cam", home: "b"), age: .seconds(3), now: Self.t0 + .seconds(3))
        #expect(registry.lookup(token: 5)?.homeServerID == "a")
        #expect(registry.count(role: .device) == 1 && registry.count(role: .client) == 0)
        // The device then registers on b (a fresher row): ours goes, with its token and write.
        registry.applyRemote(Self.record("cam", home: "b"), age: .zero, now: Self.t0 + .seconds(9))
        #expect(registry.lookup(role: .device, uuid: "cam")?.homeServerID == "b")
        #expect(registry.lookup(token: 5) == nil)
        #expect(registry.takeWrites().isEmpty)
    }

    @Test func resyncDropsVanishedRemoteRowsAndExpiryReleasesOurs() {
        let registry = PostgresRegistry(serverID: "a")
        registry.upsert(Self.record("mine", home: "a", token: 1))
        registry.applyRemote(Self.record("gone", home: "b"), age: .zero, now: Self.t0)
        registry.applyRemote(Self.record("kept", home: "c"), age: .zero, now: Self.t0)
        _ = registry.takeWrites()
        registry.resync([(Self.record("kept", home: "c"), .seconds(2))], now: Self.t0 + .seconds(1))
        #expect(registry.lookup(role: .device, uuid: "gone") == nil)
        #expect(registry.lookup(role: .device, uuid: "kept")?.lastSeen == Self.t0 - .seconds(1))
        #expect(registry.lookup(role: .device, uuid: "mine") != nil, "a resync never drops our own rows")

        let expired = registry.expire(before: Self.t0 + .seconds(1))
        #expect(Set(expired.map(\.uuid)) == ["mine", "kept"])
        #expect(registry.takeWrites() == [.release(role: .device, uuid: "mine")])
        #expect(registry.count == 0)
    }

    @Test func theCountIsThisServersAgentsAndASilentServersRowsLeave() {
        let registry = PostgresRegistry(serverID: "a")
        registry.upsert(Self.record("mine", home: "a", token: 1))
        registry.applyRemote(Self.record("b1", home: "b"), age: .zero, now: Self.t0)
        registry.applyRemote(Self.record("b2", home: "b"), age: .zero, now: Self.t0)
        registry.applyRemote(Self.record("c1", home: "c"), age: .zero, now: Self.t0)
        #expect(registry.count == 1, "agents_online and the registration limit count this server's agents only")
        // The device registered on b moves here: ours now, counted once.
        registry.upsert(Self.record("b2", home: "a", token: 2, at: Self.t0 + .seconds(1)))
        #expect(registry.count == 2)
        registry.applyRemote(Self.record("b3", home: "b"), age: .zero, now: Self.t0)
        #expect(registry.removeRows(homedAt: "b") == 2)
        #expect(registry.lookup(role: .device, uuid: "b1") == nil && registry.lookup(role: .device, uuid: "b3") == nil)
        #expect(registry.lookup(role: .device, uuid: "b2")?.homeServerID == "a", "rows homed here stay")
        #expect(registry.lookup(role: .device, uuid: "c1") != nil)
        #expect(registry.removeRows(homedAt: "a") == 0, "never our own")
        #expect(registry.count == 2)
    }

    @Test func whileTheDatabaseIsDownOtherServersRowsAreHeldNotExpired() {
        let registry = PostgresRegistry(serverID: "a")
        registry.upsert(Self.record("mine", home: "a", token: 1))
        registry.applyRemote(Self.record("theirs", home: "b"), age: .zero, now: Self.t0)
        registry.holdsRemoteRows = true
        let expired = registry.expire(before: Self.t0 + .seconds(100))
        #expect(expired.map(\.uuid) == ["mine"], "our own agents still expire: we hear them")
        #expect(registry.lookup(role: .device, uuid: "theirs") != nil, "nobody refreshes them now: no guess of offline")
        registry.holdsRemoteRows = false
        #expect(registry.expire(before: Self.t0 + .seconds(100)).map(\.uuid) == ["theirs"])
    }

    @Test func heartbeatsReportServersThatFellSilentAndCameBack() {
        var heartbeats = ServerHeartbeats(selfID: "a")
        // Silent from the start (never heard in this session): nothing to drop, the resync skips them.
        #expect(heartbeats.update(ages: ["a": 9, "b": 0.5, "old": 86_000], silenceLimit: 4) == .init())
        #expect(heartbeats.update(ages: ["a": 0, "b": 3.9, "old": 86_001], silenceLimit: 4) == .init())
        #expect(
            heartbeats.update(ages: ["a": 0, "b": 4.5, "old": 86_002], silenceLimit: 4) == .init(fellSilent: ["b"]))
        #expect(heartbeats.update(ages: ["a": 0, "b": 5.5], silenceLimit: 4) == .init(), "told once")
        #expect(heartbeats.update(ages: ["a": 0, "b": 0.2], silenceLimit: 4) == .init(returned: ["b"]))
        // A server that said goodbye (its row set to the epoch) and a new one.
        #expect(heartbeats.update(ages: ["a": 0, "b": 1.8e9, "c": 0], silenceLimit: 4) == .init(fellSilent: ["b"]))
        #expect(heartbeats.silent == ["b"])
    }

    @Test func failedWritesComeBackUnlessNewerOnesWait() {
        let registry = PostgresRegistry(serverID: "a")
        registry.upsert(Self.record("x", home: "a", token: 1))
        registry.upsert(Self.record("y", home: "a", token: 2))
        let failed = registry.takeWrites()
        #expect(failed.count == 2)
        registry.upsert(Self.record("x", home: "a", token: 3, at: Self.t0 + .seconds(1)))
        registry.requeue(failed)
        let again = registry.takeWrites()
        #expect(again.count == 2)
        #expect(again.contains(.claim(Self.record("x", home: "a", token: 3, at: Self.t0 + .seconds(1)))))
        // After a reconnect every live row of ours is written again.
        registry.refreshAllLocal()
        #expect(registry.pendingWrites == 2)
    }

    @Test func peerIntroductionPayloadsRoundTripAndGarbageIsRejected() {
        let intro = PeerIntroduction(
            targetServerID: "b", originServerID: "a|\"odd\"", sessionID: 0xFFFF_FFFF_FFFF_FFFF, deviceUUID: "cam\"1",
            clientUUID: "client-1", clientConnectionID: 42, clientPublicAddress: Addr.client,
            clientCandidates: [NetAddress(host: .v6(0x2001_0db8_0000_0000, 1), port: 9)], relayVia: Addr.stranger,
            relayAllowed: true)
        let text = PostgresCodec.payload(intro)
        #expect(text.utf8.count < 8000)
        #expect(PostgresCodec.peerIntroduction(text) == intro)
        let entropy = SeededEntropy(seed: 77)
        var rejected = 0
        for _ in 0..<2000 {
            let mutated = ServerSamples.mutate(Array(text.utf8), entropy)
            if PostgresCodec.peerIntroduction(String(decoding: mutated, as: UTF8.self)) == nil { rejected += 1 }
        }
        #expect(rejected > 1000, "seed 77: most mutations must be rejected, got \(rejected)")
        // Addresses and presence notices read back from the database never trap either.
        for _ in 0..<2000 {
            let text = String(
                decoding: ServerSamples.mutate(Array("[2001:db8::1]:7000,192.0.2.1:9".utf8), entropy), as: UTF8.self)
            _ = PostgresCodec.addresses(text)
            _ = PostgresCodec.presenceChange(
                String(
                    decoding: ServerSamples.mutate(
                        Array(#"{"op":"update","role":1,"uuid":"x","home":"a"}"#.utf8), entropy), as: UTF8.self))
        }
        #expect(PostgresCodec.presenceChange(#"{"op":"delete","role":2,"uuid":"c\"1","home":"b"}"#)?.uuid == "c\"1")
        #expect(
            PostgresCodec.address("[2001:db8::1]:7000") == NetAddress(host: .v6(0x2001_0db8_0000_0000, 1), port: 7000))
        #expect(PostgresCodec.address("192.0.2.1:99999") == nil)
        #expect(PostgresCodec.addresses("192.0.2.1:1,nonsense") == nil)
    }

    @Test func databaseURLsAreCheckedAndPrintedWithoutThePassword() throws {
        let url = try PostgresURL("postgres://t2u:secret@db.example:6543/cloud?sslmode=disable")
        #expect(url.host == "db.example" && url.port == 6543 && url.user == "t2u" && url.password == "secret")
        #expect(url.database == "cloud" && url.sslMode == "disable")
        #expect(!url.description.contains("secret"))
        #expect(throws: PostgresURL.Invalid.self) { try PostgresURL("mysql://x@y/z") }
        // A URL of another scheme is refused without printing its password back.
        do {
            _ = try PostgresURL("mysql://app:hunter2@db.example:3306/cloud")
            Issue.record("a mysql:// URL must be refused")
        } catch {
            #expect(!"\(error)".contains("hunter2"))
            #expect("\(error)".contains("mysql://app:***@db.example:3306/cloud"))
        }
        #expect(PostgresURL.redacted("pg://u:p:q@h/d?x=@y") == "pg://u:***@h/d?x=@y")
        #expect(PostgresURL.redacted("postgres://user@host/db") == "postgres://user@host/db")
        #expect(PostgresURL.redacted("not a url: a:b@c") == "not a url: a:b@c")
        #expect(throws: PostgresURL.Invalid.self) { try PostgresURL("postgres://x@y/z?sslmode=sometimes") }
        #expect(PostgresSchema.peerChannel(serverID: "host:7000").count == "t2u_server_".count + 16)
    }
}

/// Two server cores sharing presence (by hand, as `PostgresSync` would): a client on A connects
/// to a device homed on B; B introduces its device and the relay runs device <-> B <-> A <-> client.
@Suite struct CrossServerCoreTests {
    static let addressA = NetAddress(ipv4: (192, 0, 2, 100), port: 7000)
    static let addressB = NetAddress(ipv4: (192, 0, 2, 200), port: 7000)

    @Test func connectToADeviceOnAnotherServerIsIntroducedThereAndRelayedThroughBoth() throws {
        var configA = ServerConfig()
        var configB = ServerConfig()
        configA.serverID = "a"
        configA.advertiseAddress = Self.addressA
        configB.serverID = "b"
        configB.advertiseAddress = Self.addressB
        let registryA = PostgresRegistry(serverID: "a")
        let registryB = PostgresRegistry(serverID: "b")
        let a = ServerHarness(config: configA, registry: registryA)
        let b = ServerHarness(config: configB, registry: registryB)
        registryA.setServers(["b": Self.addressB])

        _ = try #require(b.token(.device, uuid: "cam", from: Addr.device))
        let deviceToken = try #require(registryB.lookup(role: .device, uuid: "cam")?.token)
        registryA.applyRemote(try #require(registryB.lookup(role: .device, uuid: "cam")), age: .zero, now: a.now)
        let clientToken = try #require(a.token(.client, uuid: "cli", from: Addr.client))

        let cid: UInt64 = 0xC1
        let reply = a.send(
            .connect(
                .init(
                    requestID: 9, token: clientToken, uuid: "cam", clientConnectionID: ConnectionID(rawValue: cid),
                    candidates: [])), from: Addr.client)
        guard case .connectResult(let result)? = reply.first?.message else {
            Issue.record("no CONNECT_RESULT: \(reply)")
            return
        }
        #expect(result.online && result.deviceCandidates.first == Addr.device)
        #expect(reply.count == 1, "A sends no INTRODUCE itself")
        let intro = try #require(a.core.pollPeerIntroduction())
        #expect(
            intro.targetServerID == "b" && intro.relayVia == Self.addressA && intro.clientPublicAddress == Addr.client)
        #expect(PostgresCodec.peerIntroduction(PostgresCodec.payload(intro)) == intro)

        b.core.receivePeerIntroduction(intro, now: b.now)
        let introduce = b.drain()
        guard case .introduce(let m)? = introduce.first?.message else {
            Issue.record("B did not introduce: \(introduce)")
            return
        }
        #expect(introduce.first?.transmit.destination == Addr.device)
        #expect(m.clientPublicAddress == Addr.client && m.clientConnectionID.rawValue == cid)
        _ = b.send(.introduceAck(requestID: m.requestID, token: deviceToken, sessionID: m.sessionID), from: Addr.device)
        b.core.receivePeerIntroduction(intro, now: b.now)  // repeated: no second session
        #expect(b.core.sessionCount == 1 && b.drain().isEmpty)

        // Relay: client -> A -> B -> device, and back.
        let toB = a.sendRaw(TransportBytes.initiation(initiatorCID: cid), from: Addr.client)
        #expect(toB.map(\.transmit.destination) == [Self.addressB])
        let toDevice = b.sendRaw(toB[0].bytes, from: Self.addressA)
        #expect(toDevice.map(\.transmit.destination) == [Addr.device])
        let back = b.sendRaw(TransportBytes.response(initiatorCID: cid, responderCID: 0xD1), from: Addr.device)
        #expect(back.map(\.transmit.destination) == [Self.addressA])
        #expect(a.sendRaw(back[0].bytes, from: Self.addressB).map(\.transmit.destination) == [Addr.client])
        #expect(
            a.sendRaw(TransportBytes.data(destinationCID: 0xD1), from: Addr.client).map(\.transmit.destination) == [
                Self.addressB
            ])
        // Strangers are still refused on both: nothing forwarded, only RELAY_UNKNOWN back to them.
        #expect(
            b.sendRaw(TransportBytes.data(destinationCID: 0xD1), from: Addr.stranger).map(\.transmit.destination) == [
                Addr.stranger
            ])
        #expect(
            a.sendRaw(TransportBytes.data(destinationCID: cid), from: Addr.stranger).map(\.transmit.destination) == [
                Addr.stranger
            ])

        // An introduction for a device that is not (or no longer) homed on B is refused.
        var wrong = intro
        wrong.sessionID = 77
        wrong.deviceUUID = "nobody"
        b.core.receivePeerIntroduction(wrong, now: b.now)
        #expect(b.core.counters.rejected[.peerIntroductionRejected] == 1)
    }

    @Test func unknownHomeServerReadsAsOffline() throws {
        var config = ServerConfig()
        config.serverID = "a"
        config.advertiseAddress = Self.addressA
        let registry = PostgresRegistry(serverID: "a")
        let a = ServerHarness(config: config, registry: registry)
        registry.applyRemote(PostgresRegistryTests.record("cam", home: "ghost"), age: .zero, now: a.now)
        let token = try #require(a.token(.client, uuid: "cli", from: Addr.client))
        let reply = a.send(
            .connect(
                .init(
                    requestID: 3, token: token, uuid: "cam", clientConnectionID: ConnectionID(rawValue: 5),
                    candidates: [])), from: Addr.client)
        guard case .connectResult(let result)? = reply.first?.message else {
            Issue.record("\(reply)")
            return
        }
        #expect(!result.online)
        #expect(a.core.pollPeerIntroduction() == nil)
    }
}
