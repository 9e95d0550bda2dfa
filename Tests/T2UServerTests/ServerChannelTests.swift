// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import Testing

@testable import T2UCore
@testable import T2UServer

/// The attacks of docs/SECURITY.md §1-2 against the server core, each shown refused.
@Suite struct ServerChannelTests {
    /// A REGISTER claiming `victim`'s static key by someone without its private key: `es` and
    /// the encrypted static are right, `ss` cannot be (made here with the attacker's key).
    static func forgedRegister(_ h: ServerHarness, victim: [UInt8], uuid: String, cookie: [UInt8]) -> SignalingMessage {
        let attacker = StaticIdentity.generate(SeededEntropy(seed: 666))
        let ephemeral = StaticIdentity.generate(SeededEntropy(seed: 667))
        var state = HandshakeSymmetricState(
            protocolName: SignalingRegistration.protocolName, responderStatic: h.serverPublicKey)
        state.mixHash(SignalingRegistration.header(requestID: 2, role: .device, cookie: cookie))
        state.mixHash(ephemeral.publicKey)
        state.mixKey(try! diffieHellman(ephemeral.privateKey, h.serverPublicKey, what: "s"))
        let encryptedStatic = state.encryptAndHash(victim)
        state.mixKey(try! diffieHellman(attacker.privateKey, h.serverPublicKey, what: "s"))
        let payload = state.encryptAndHash(RegistrationPayload(uuid: uuid, extra: [], candidates: []).encoded())
        return .register(
            .init(
                requestID: 2, role: .device, cookie: cookie, ephemeral: ephemeral.publicKey,
                encryptedStatic: encryptedStatic, encryptedPayload: payload))
    }

    @Test func registerWithoutThePrivateKeyOfItsStaticCannotComplete() throws {
        let h = ServerHarness()
        let victim = h.identity("CAM-1").publicKey
        let cookie = try #require(h.cookie(for: Addr.stranger))
        #expect(
            h.send(Self.forgedRegister(h, victim: victim, uuid: "CAM-1", cookie: cookie), from: Addr.stranger).isEmpty)
        #expect(h.core.registry.count == 0)
        #expect(h.core.bindings.boundKey(uuid: "CAM-1") == nil)
        #expect(h.core.counters[.registrationForged] == 1)
        // Random bytes as the encrypted static: the same.
        var message = h.registration(.device, uuid: "CAM-1", cookie: cookie, identity: h.identity("CAM-1")).message
        message.encryptedStatic = SeededEntropy(seed: 5).bytes(48)
        #expect(
            h.send(.register(message), from: Addr.stranger).map(\.message) == [
                .error(requestID: 2, code: .serverKeyRejected)
            ])
        #expect(h.core.registry.count == 0)
    }

    @Test func retransmittedRegisterGetsTheSameAnswerAndNoSecondChannel() throws {
        let h = ServerHarness()
        let cookie = try #require(h.cookie(for: Addr.device))
        let initiator = h.registration(.device, uuid: "CAM-1", cookie: cookie, identity: h.identity("CAM-1"))
        let first = h.send(.register(initiator.message), from: Addr.device)
        let second = h.send(.register(initiator.message), from: Addr.device)
        #expect(first.count == 1 && second.count == 1)
        #expect(first.first?.bytes == second.first?.bytes)
        #expect(h.core.channels.count == 1)
        #expect(h.core.counters.registrations == 1)
        guard case .registered(_, let ephemeral, let encrypted)? = second.first?.message else {
            Issue.record("no REGISTERED")
            return
        }
        let (answer, channel) = try initiator.complete(ephemeral: ephemeral, encryptedPayload: encrypted)
        #expect(h.core.registry.lookup(token: answer.token)?.uuid == "CAM-1")
        // Once the agent speaks in the channel the cached answer is dropped; the same REGISTER
        // again is then a new registration (a new channel, the old one closed).
        h.channels[answer.token] = channel
        #expect(h.request(.keepalive(requestID: 3, token: answer.token), from: Addr.device) != nil)
        #expect(h.core.channelByEphemeral.isEmpty)
        #expect(h.send(.register(initiator.message), from: Addr.device).first?.bytes != first.first?.bytes)
        #expect(h.core.channels.count == 1)
        #expect(h.core.channels[answer.token] == nil)
    }

    @Test func unsealedChannelMessagesAreRefusedWithoutReply() throws {
        let h = ServerHarness()
        let device = try #require(h.token(.device, uuid: "CAM-1", from: Addr.device))
        let client = try #require(h.token(.client, uuid: "client-1", from: Addr.client))
        let bare: [SignalingMessage] = [
            .keepalive(requestID: 1, token: device),
            .query(requestID: 2, token: client, uuid: "CAM-1"),
            .connect(
                .init(
                    requestID: 3, token: client, uuid: "CAM-1", clientConnectionID: ConnectionID(rawValue: 9),
                    candidates: [])),
            .introduceAck(requestID: 4, token: device, sessionID: 1),
            .pathReport(requestID: 5, token: client, sessionID: 1, path: .direct),
        ]
        for message in bare {
            let source = message.type == .keepalive || message.type == .introduceAck ? Addr.device : Addr.client
            #expect(h.sendBare(message, from: source).isEmpty, "\(message.type)")
        }
        #expect(h.core.counters[.unsealed] == UInt64(bare.count))
        #expect(h.core.sessionCount == 0)
        #expect(h.core.counters.queries == 0)
    }

    @Test func sniffedSealedKeepaliveReplayedFromElsewhereMovesNothing() throws {
        let h = ServerHarness()
        let device = try #require(h.token(.device, uuid: "CAM-1", from: Addr.device))
        let sniffed = try #require(h.sealedBytes(.keepalive(requestID: 1, token: device)))
        #expect(h.sendRaw(sniffed, from: Addr.device).count == 1)  // the genuine one
        // The same bytes from the attacker: a replay, dropped; the record stays.
        #expect(h.sendRaw(sniffed, from: Addr.stranger).isEmpty)
        #expect(h.core.registry.lookup(token: device)?.address == Addr.device)
        #expect(h.core.counters[.sealedReplayed] == 1)
        // And the bare token from the attacker's address: refused, nothing moves.
        #expect(h.sendBare(.keepalive(requestID: 2, token: device), from: Addr.stranger).isEmpty)
        #expect(h.core.registry.lookup(token: device)?.address == Addr.device)
    }

    @Test func forgedSealedPacketWithTheTokenAndWrongKeysIsDroppedAndCounted() throws {
        let h = ServerHarness()
        let device = try #require(h.token(.device, uuid: "CAM-1", from: Addr.device))
        var wrongKeys = SealedChannel(
            id: device, sendKey: [UInt8](repeating: 1, count: 32), receiveKey: [UInt8](repeating: 2, count: 32))
        let forged = ServerSamples.bytes(.sealed(wrongKeys.seal(.keepalive(requestID: 1, token: device))))
        #expect(h.sendRaw(forged, from: Addr.stranger).isEmpty)
        #expect(h.core.registry.lookup(token: device)?.address == Addr.device)
        #expect(h.core.counters[.sealedForged] == 1)
        // The genuine device still gets through afterwards (the forgery burnt no counter).
        #expect(
            h.request(.keepalive(requestID: 2, token: device), from: Addr.device)
                == .keepaliveAck(requestID: 2, observed: Addr.device))
    }

    @Test func authenticatedRoamingMovesTheRecordAndItsSessions() throws {
        let h = ServerHarness()
        let (device, client) = try ServerCoreConnectTests.setUp(h)
        _ = ServerCoreConnectTests.connect(h, clientToken: client)
        let moved = NetAddress(ipv4: (198, 51, 100, 77), port: 40_000)
        #expect(
            h.request(.keepalive(requestID: 5, token: device), from: moved)
                == .keepaliveAck(requestID: 5, observed: moved))
        #expect(h.core.registry.lookup(token: device)?.address == moved)
        #expect(h.core.sessions.values.first?.deviceAddress == moved)
    }

    @Test func channelsOfExpiredOrReplacedRecordsAreClosed() throws {
        let h = ServerHarness()
        let device = try #require(h.token(.device, uuid: "CAM-1", from: Addr.device))
        let client = try #require(h.token(.client, uuid: "client-1", from: Addr.client))
        // A peer server took the client (its record replaced under another token, no channel here).
        var moved = try #require(h.core.registry.lookup(token: client))
        moved.token = 0xF00D
        moved.homeServerID = "t2u-2"
        h.core.registry.upsert(moved)
        // The device keeps alive; after the sweep only its channel is left.
        for _ in 0..<4 {
            h.advance(by: .seconds(20))
            #expect(h.request(.keepalive(requestID: 1, token: device), from: Addr.device) != nil)
        }
        #expect(h.core.channels.keys.sorted() == [device])
        // Expiry closes the device's channel too.
        h.advance(by: .seconds(70))
        #expect(h.core.channels.isEmpty)
    }

    @Test func secondAgentWithAnotherKeyCannotTakeTheUUID() throws {
        let h = ServerHarness()
        let (_, client) = try ServerCoreConnectTests.setUp(h)
        let (result, _) = ServerCoreConnectTests.connect(h, clientToken: client)
        let session = try #require(result?.sessionID)
        let realKey = h.identity("CAM-1").publicKey

        let impostor = StaticIdentity.generate(SeededEntropy(seed: 1234))
        let reply = h.register(.device, uuid: "CAM-1", from: Addr.stranger, identity: impostor)
        #expect(reply == .error(requestID: 2, code: .identityConflict))
        #expect(h.core.counters[.bindingConflict] == 1)
        // The real device keeps its record and its session; clients still get its key.
        let record = try #require(h.core.registry.lookup(role: .device, uuid: "CAM-1"))
        #expect(record.address == Addr.device)
        #expect(record.publicKey == realKey)
        #expect(h.core.sessions[session]?.deviceAddress == Addr.device)
        guard
            case .queryResult(let answer)? = h.request(
                .query(requestID: 9, token: client, uuid: "CAM-1"), from: Addr.client)
        else {
            Issue.record("no query result")
            return
        }
        #expect(answer.publicKey == realKey)
        // The genuine device re-registering (same key, new address) is fine.
        #expect(h.token(.device, uuid: "CAM-1", from: NetAddress(ipv4: (198, 51, 100, 11), port: 1)) != nil)
    }

    @Test func firstKeyBindingsRefuseWhatTheyCannotVerify() {
        let bindings = FirstKeyBindings()
        let server = ServerHarness.serverIdentity
        let key = [UInt8](repeating: 7, count: 32)
        #expect(
            bindings.admit(.init(uuid: "A", publicKey: key, cookie: []), server: server, now: .zero)
                == .accepted(created: true, rebound: false))
        #expect(
            bindings.admit(.init(uuid: "A", publicKey: key, cookie: []), server: server, now: .zero)
                == .accepted(created: false, rebound: false))
        #expect(
            bindings.admit(
                .init(uuid: "A", publicKey: [UInt8](repeating: 8, count: 32), cookie: []), server: server, now: .zero)
                == .refused(.identityConflict))
        #expect(
            bindings.admit(.init(uuid: "B", publicKey: key, certificate: [1], cookie: []), server: server, now: .zero)
                == .refused(.identityConflict))
        #expect(
            bindings.admit(
                .init(
                    uuid: "A", publicKey: [UInt8](repeating: 8, count: 32),
                    rotation: KeyRotation(oldPublicKey: key, proof: [UInt8](repeating: 0, count: 32)), cookie: []),
                server: server, now: .zero) == .refused(.identityConflict))
        #expect(bindings.boundKey(uuid: "A") == key)
        #expect(bindings.release(uuid: "A"))
        #expect(bindings.boundKey(uuid: "A") == nil)
    }

    @Test func sealedPacketForAnUnknownChannelGetsASmallBareError() {
        let h = ServerHarness()
        var stale = SealedChannel(
            id: 0x1122_3344_5566_7788, sendKey: [UInt8](repeating: 1, count: 32),
            receiveKey: [UInt8](repeating: 2, count: 32))
        let bytes = ServerSamples.bytes(.sealed(stale.seal(.keepalive(requestID: 1, token: 0x1122_3344_5566_7788))))
        let out = h.sendRaw(bytes, from: Addr.device)
        #expect(out.map(\.message) == [.error(requestID: 0x5566_7788, code: .unknownSession)])
        #expect(out.allSatisfy { $0.bytes.count < bytes.count })
    }

    @Test func repliesToUnverifiedSourcesAreNoLargerThanTheirRequests() {
        let h = ServerHarness()
        let hello = ServerSamples.bytes(.hello(requestID: 1, role: .device))
        let challenge = h.sendRaw(hello, from: Addr.stranger)
        #expect(challenge.count == 1)
        #expect(challenge[0].bytes.count == 57)
        #expect(challenge[0].bytes.count <= hello.count)
        let probe = ServerSamples.bytes(.probe(requestID: 2))
        #expect(h.sendRaw(probe, from: Addr.stranger, on: .observation).allSatisfy { $0.bytes.count <= probe.count })
        // A REGISTER with a bad cookie: a bare ERROR, far smaller than the REGISTER.
        let register = ServerSamples.bytes(
            .register(
                h.registration(
                    .device, uuid: "X", cookie: [UInt8](repeating: 0, count: 20),
                    identity: h.identity("X")
                ).message))
        #expect(h.sendRaw(register, from: Addr.stranger).allSatisfy { $0.bytes.count <= register.count })
    }

    /// 20k spoofed-source HELLOs per second (virtual clock, random sources, a 2000-entry table)
    /// while 5 new agents register: all 5 get through, each within 1 s.
    @Test func helloFloodFromSpoofedSourcesLocksNoNewAgentOut() throws {
        var config = ServerConfig(identity: ServerHarness.serverIdentity)
        config.maxTrackedSources = 2000
        let h = ServerHarness(config: config)
        let flood = SeededEntropy(seed: 2024)
        let hello = ServerSamples.bytes(.hello(requestID: 1, role: .device))
        let agents = (0..<5).map { NetAddress(ipv4: (203, 0, UInt8(100 + $0), 7), port: 40_000) }
        var registeredAt: [Int: Nanos] = [:]
        let start = h.now
        // Each agent starts at a different moment of the flood, then retries every 250 ms.
        for step in 0..<400 {  // 2 s in 5 ms steps, 100 spoofed HELLOs per step = 20k/s
            for _ in 0..<100 {
                let source = NetAddress(
                    ipv4: (
                        UInt8(1 + flood.next(below: 220)), UInt8(flood.next(below: 256)),
                        UInt8(flood.next(below: 256)), UInt8(flood.next(below: 256))
                    ),
                    port: UInt16(flood.next(below: 60_000) + 1))
                h.sendRaw(hello, from: source)
            }
            for (i, agent) in agents.enumerated()
            where registeredAt[i] == nil && step >= i * 40 && (step - i * 40) % 50 == 0 {
                let began = h.now
                if h.token(.device, uuid: "NEW-\(i)", from: agent) != nil {
                    registeredAt[i] = h.now - began + (began - start)
                }
            }
            h.now = h.now + .milliseconds(5)
        }
        #expect(registeredAt.count == 5)
        for i in 0..<5 {
            // Registered at its first attempt (at step i * 40), i.e. within 1 s of starting.
            let offset = try #require(registeredAt[i]) - .milliseconds(Int64(i * 40 * 5))
            #expect(offset <= .seconds(1), "agent \(i)")
        }
        #expect(h.core.gauges.trackedSources <= 2000)
    }
}

@Suite struct ServerChannelFigures {
    /// Prints what registration (IK: 4 X25519 on the server) and a sealed keepalive cost through
    /// the core, and the datagram sizes. Debug build: a lower bound on release speed.
    @Test func registrationAndSealedKeepaliveCost() throws {
        let h = ServerHarness()
        let count = 200
        let clock = ContinuousClock()
        var tokens: [UInt64] = []
        let registering = clock.measure {
            for i in 0..<count {
                let source = NetAddress(ipv4: (10, UInt8(i >> 8), UInt8(i & 0xFF), 1), port: 40_000)
                if let token = h.token(.device, uuid: "FIG-\(i)", from: source) { tokens.append(token) }
            }
        }
        #expect(tokens.count == count)
        let keepalives = 10
        let keeping = clock.measure {
            for _ in 0..<keepalives {
                for (i, token) in tokens.enumerated() {
                    _ = h.send(
                        .keepalive(requestID: 1, token: token),
                        from: NetAddress(ipv4: (10, UInt8(i >> 8), UInt8(i & 0xFF), 1), port: 40_000))
                }
            }
        }
        let register = ServerSamples.bytes(
            .register(
                h.registration(
                    .device, uuid: "CAM-0001", cookie: [UInt8](repeating: 0, count: 20),
                    identity: h.identity("x")
                ).message))
        let keepalive = try #require(h.sealedBytes(.keepalive(requestID: 1, token: tokens[0])))
        print(
            "figure: IK registration (HELLO+REGISTER, agent and server side) \(registering / count) each; "
                + "sealed keepalive round (agent seal + server open/seal + agent open) \(keeping / (count * keepalives)) each; "
                + "REGISTER for CAM-0001 \(register.count) B, sealed KEEPALIVE \(keepalive.count) B (debug build)")
    }
}
