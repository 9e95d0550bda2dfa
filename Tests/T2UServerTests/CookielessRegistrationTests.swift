// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import T2UCore
import Testing

@testable import T2UServer

/// A client that pins the server's key registers without HELLO/CHALLENGE (issue 10 item 3: a
/// round trip less from a cold start) while the server's cookieless budget lasts; a device never
/// does, and a client the server refuses falls back to HELLO for good.
@Suite struct CookielessRegistrationTests {
    static let server = NetAddress(ipv4: (198, 51, 100, 1), port: 7000)

    /// Moves datagrams between the agent and the server until the agent has nothing more to
    /// send; returns what the agent sent to the server, in order.
    static func exchange(_ client: SignalingClient, _ h: ServerHarness, from source: NetAddress) -> [SignalingMessage] {
        var sent: [SignalingMessage] = []
        var buffer = ByteBuffer()
        for _ in 0..<10 {
            var moved = false
            while let destination = client.pollTransmit(now: h.now, into: &buffer) {
                guard destination == server else { continue }
                moved = true
                if let message = try? SignalingMessage.parse(buffer) { sent.append(message) }
                for out in h.sendRaw(Array(buffer.readableBytesView), from: source)
                where out.transmit.destination == source {
                    client.receive(ByteBuffer(bytes: out.bytes), from: server, now: h.now)
                }
            }
            if !moved { break }
        }
        return sent
    }

    static func agent(_ role: SignalingRole, uuid: String, pinning key: [UInt8]?) throws -> SignalingClient {
        let config = SignalingClientConfig(
            role: role, uuid: uuid, identity: StaticIdentity.generate(SeededEntropy(seed: 9)),
            serverPublicKey: key, server: server)
        return try SignalingClient(config: config, entropy: SeededEntropy(seed: 10), now: .zero)
    }

    static func cookie(of message: SignalingMessage?) -> [UInt8]? {
        if case .register(let register)? = message { return register.cookie }
        return nil
    }

    @Test func aClientPinningTheServerKeyRegistersWithoutHello() throws {
        let h = ServerHarness()
        let client = try Self.agent(.client, uuid: "app-1", pinning: h.serverPublicKey)
        let sent = Self.exchange(client, h, from: Addr.client)
        #expect(Self.cookie(of: sent.first) == SignalingRegistration.noCookie, "\(sent)")
        #expect(!sent.contains { if case .hello = $0 { true } else { false } })
        #expect(client.status == .registered)
        #expect(h.core.registry.lookup(role: .client, uuid: "app-1") != nil)
    }

    @Test func withoutAPinnedKeyOrAsADeviceItIsHelloFirst() throws {
        for (role, key) in [(SignalingRole.client, nil), (.device, ServerHarness().serverPublicKey)] {
            let h = ServerHarness()
            let agent = try Self.agent(role, uuid: "cam-1", pinning: key)
            let sent = Self.exchange(agent, h, from: Addr.device)
            guard case .hello? = sent.first else {
                Issue.record("\(role): \(sent)")
                continue
            }
            #expect(agent.status == .registered, "\(role)")
        }
    }

    /// A pinned key that is not the server's: the server cannot open the cookieless REGISTER and
    /// says so; the client reports the key rejected and tries again only slowly.
    @Test func aWrongPinnedKeyIsRejected() throws {
        let h = ServerHarness()
        let client = try Self.agent(
            .client, uuid: "app-1", pinning: StaticIdentity.generate(SeededEntropy(seed: 77)).publicKey)
        let sent = Self.exchange(client, h, from: Addr.client)
        #expect(Self.cookie(of: sent.first) == SignalingRegistration.noCookie, "\(sent)")
        #expect(client.status == .keyRejected)
        #expect(sent.count == 1, "no retry at once: \(sent)")
    }

    @Test func aDevicesRegisterWithoutCookieIsRefused() {
        let h = ServerHarness()
        let initiator = h.registration(
            .device, uuid: "cam-1", cookie: SignalingRegistration.noCookie, identity: h.identity("cam-1"))
        #expect(h.request(.register(initiator.message), from: Addr.device) == .error(requestID: 2, code: .badCookie))
        #expect(h.core.registry.lookup(role: .device, uuid: "cam-1") == nil)
    }

    @Test func beyondTheBudgetAClientFallsBackToHelloForGood() throws {
        var config = ServerConfig(identity: ServerHarness.serverIdentity)
        config.cookielessRegistrationsPerSecond = 0.5  // a burst of one
        let h = ServerHarness(config: config)
        let first = try Self.agent(.client, uuid: "app-1", pinning: h.serverPublicKey)
        _ = Self.exchange(first, h, from: Addr.client)
        #expect(first.status == .registered)

        let second = try Self.agent(.client, uuid: "app-2", pinning: h.serverPublicKey)
        let sent = Self.exchange(second, h, from: Addr.stranger)
        #expect(Self.cookie(of: sent.first) == SignalingRegistration.noCookie, "\(sent)")
        guard let hello = sent.firstIndex(where: { if case .hello = $0 { true } else { false } }) else {
            Issue.record("no HELLO after badCookie: \(sent)")
            return
        }
        let cookie = try #require(Self.cookie(of: sent.last))
        #expect(hello > 0 && cookie != SignalingRegistration.noCookie, "\(sent)")
        #expect(second.status == .registered)
        #expect(h.core.counters[.badCookie] == 1)
    }
}
