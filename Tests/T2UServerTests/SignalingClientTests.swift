// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import T2UCore
import Testing

@Suite struct SignalingClientTests {
    static let server = NetAddress(ipv4: (192, 0, 2, 1), port: 7000)

    /// Times at which the client sent something, with nobody answering, over `span`.
    static func sendTimes(_ client: SignalingClient, span: Nanos) -> [(Instant, SignalingMessage)] {
        var sent: [(Instant, SignalingMessage)] = []
        var now = Instant.zero
        while now < Instant.zero + span {
            var buffer = ByteBuffer()
            while client.pollTransmit(now: now, into: &buffer) != nil {
                if let message = try? SignalingMessage.parse(buffer) { sent.append((now, message)) }
                buffer.clear()
            }
            guard let deadline = client.nextDeadline() else { break }
            now = max(now, deadline)
            client.handleTimeout(now: now)
        }
        return sent
    }

    @Test func helloBacksOffExponentiallyUpToTheCap() throws {
        let client = try SignalingClient(
            config: SignalingClientConfig(role: .client, uuid: "c", server: Self.server),
            entropy: SeededEntropy(seed: 1), now: .zero)
        let sent = Self.sendTimes(client, span: .seconds(30))
        let times = sent.map { $0.0.nanoseconds / 1_000_000 }
        #expect(times == [0, 500, 1500, 3500, 7500, 15500, 23500])
        #expect(sent.allSatisfy { if case .hello(_, .client) = $0.1 { true } else { false } })
        #expect(client.status == .connecting)
    }

    @Test func rejectsConfigurationOutsideTheWireBounds() {
        #expect(throws: SignalingClientConfig.Invalid.uuidLength) {
            try SignalingClient(
                config: SignalingClientConfig(role: .device, uuid: "", server: Self.server),
                entropy: SeededEntropy(seed: 1), now: .zero)
        }
        // UUIDs are printable ASCII without spaces (docs/SECURITY.md §4).
        for bad in ["has space", "tab\t", "nul\u{0}", "é", String(repeating: "u", count: 65)] {
            #expect(throws: SignalingClientConfig.Invalid.uuidLength) {
                try SignalingClient(
                    config: SignalingClientConfig(role: .device, uuid: bad, server: Self.server),
                    entropy: SeededEntropy(seed: 1), now: .zero)
            }
        }
        #expect(throws: SignalingClientConfig.Invalid.serverPublicKey) {
            try SignalingClient(
                config: SignalingClientConfig(role: .device, uuid: "d", serverPublicKey: [1, 2], server: Self.server),
                entropy: SeededEntropy(seed: 1), now: .zero)
        }
        #expect(throws: SignalingClientConfig.Invalid.extraTooLong) {
            try SignalingClient(
                config: SignalingClientConfig(
                    role: .device, uuid: "d", extra: [UInt8](repeating: 0, count: 513),
                    server: Self.server), entropy: SeededEntropy(seed: 1), now: .zero)
        }
    }

    @Test func ignoresDatagramsFromOtherAddressesAndGarbage() throws {
        let client = try SignalingClient(
            config: SignalingClientConfig(role: .device, uuid: "d", server: Self.server),
            entropy: SeededEntropy(seed: 1), now: .zero)
        var buffer = ByteBuffer()
        ServerPeer().challenge(1).write(into: &buffer)
        client.receive(buffer, from: NetAddress(ipv4: (6, 6, 6, 6), port: 7000), now: .zero)
        client.receive(ByteBuffer(bytes: [0x21, 1]), from: Self.server, now: .zero)
        #expect(client.ignoredDatagrams == 2)
        #expect(client.pollEvent() == nil)
    }

    /// A restarted server answers a relayed packet with RELAY_UNKNOWN: the agent reports it
    /// and checks its registration at once (keepalive now, not at the next interval); the
    /// server no longer knowing the token sends it back to HELLO right away.
    @Test func relayUnknownReportsAndChecksTheRegistrationAtOnce() throws {
        let client = try SignalingClient(
            config: SignalingClientConfig(role: .device, uuid: "d", server: Self.server),
            entropy: SeededEntropy(seed: 3), now: .zero)
        let peer = ServerPeer()
        let (send, next) = Self.wire(client, peer)
        try Self.register(client, peer, token: 77)
        while client.pollEvent() != nil {}
        let later = Instant.zero + .seconds(2)
        #expect(next(later) == nil, "no keepalive due yet")

        // From someone else than the server: ignored.
        let ignoredBefore = client.ignoredDatagrams
        var stray = ByteBuffer()
        SignalingMessage.relayUnknown(requestID: 0, connectionID: ConnectionID(rawValue: 5)).write(into: &stray)
        client.receive(stray, from: NetAddress(ipv4: (6, 6, 6, 6), port: 7000), now: later)
        #expect(client.ignoredDatagrams == ignoredBefore + 1)
        #expect(next(later) == nil)

        send(.relayUnknown(requestID: 0, connectionID: ConnectionID(rawValue: 5)), later)
        #expect(client.pollEvent() == .relayUnknown(ConnectionID(rawValue: 5)))
        guard case .keepalive(let keepaliveID, 77, _)? = next(later) else {
            Issue.record("no immediate keepalive")
            return
        }
        // A burst of RELAY_UNKNOWNs does not multiply keepalives.
        send(.relayUnknown(requestID: 0, connectionID: ConnectionID(rawValue: 5)), later)
        #expect(next(later) == nil)
        send(.error(requestID: keepaliveID, code: .unknownSession), later)
        #expect(next(later) == nil, "a bare error naming the keepalive is not authentic: ignored")
        send(.error(requestID: 77, code: .unknownSession), later)  // names the channel (token 77)
        guard case .hello? = next(later) else {
            Issue.record("no new registration")
            return
        }
    }

    typealias Send = (SignalingMessage, Instant, NetAddress) -> Void
    typealias Next = (Instant) -> SignalingMessage?

    /// Feeding and reading `client` as `peer` (sealed messages opened).
    static func wire(_ client: SignalingClient, _ peer: ServerPeer) -> ((SignalingMessage, Instant) -> Void, Next) {
        let send = { (message: SignalingMessage, now: Instant) in
            var buffer = ByteBuffer()
            message.write(into: &buffer)
            client.receive(buffer, from: Self.server, now: now)
        }
        let next = { (now: Instant) -> SignalingMessage? in
            var buffer = ByteBuffer()
            guard client.pollTransmit(now: now, into: &buffer) != nil, let message = try? SignalingMessage.parse(buffer)
            else { return nil }
            return peer.open(message)
        }
        return (send, next)
    }

    /// HELLO -> CHALLENGE -> REGISTER -> REGISTERED (token) at time zero.
    static func register(_ client: SignalingClient, _ peer: ServerPeer, token: UInt64) throws {
        let (send, next) = wire(client, peer)
        guard case .hello(let helloID, _)? = next(.zero) else { throw Failure("no hello") }
        send(peer.challenge(helloID), .zero)
        guard case .register(let register)? = next(.zero) else { throw Failure("no register") }
        let registered = try #require(
            peer.registered(register, token: token, observed: NetAddress(ipv4: (203, 0, 113, 9), port: 1)))
        send(registered, .zero)
        #expect(client.status == .registered)
    }

    /// Only requests the server answers may start the shell's UDP-silence clock (the TCP
    /// fallback): a path report is one-way, so on a healthy path it used to open the fallback
    /// 1.5 s after every link-up.
    @Test func onlyRequestsAwaitAnAnswer() throws {
        let client = try SignalingClient(
            config: SignalingClientConfig(role: .device, uuid: "d", server: Self.server),
            entropy: SeededEntropy(seed: 5), now: .zero)
        var buffer = ByteBuffer()
        #expect(client.pollTransmit(now: .zero, into: &buffer) == Self.server)
        #expect(client.lastTransmitAwaitsAnswer, "HELLO")
        let peer = ServerPeer()
        let fresh = try SignalingClient(
            config: SignalingClientConfig(role: .device, uuid: "d", server: Self.server),
            entropy: SeededEntropy(seed: 6), now: .zero)
        try Self.register(fresh, peer, token: 9)
        #expect(fresh.report(sessionID: 1, path: .direct, now: .zero))
        #expect(fresh.pollTransmit(now: .zero, into: &buffer) == Self.server)
        guard case .pathReport? = peer.open(try SignalingMessage.parse(buffer)) else {
            Issue.record("no path report")
            return
        }
        #expect(!fresh.lastTransmitAwaitsAnswer, "a path report is one-way")
        // The keepalive, when due, is a request.
        let due = try #require(fresh.nextDeadline())
        fresh.handleTimeout(now: due)
        #expect(fresh.pollTransmit(now: due, into: &buffer) == Self.server)
        guard case .keepalive? = peer.open(try SignalingMessage.parse(buffer)) else {
            Issue.record("no keepalive")
            return
        }
        #expect(fresh.lastTransmitAwaitsAnswer, "keepalive")
    }

    /// A carrier change (UDP <-> TCP fallback) while registered and idle sends a keepalive at
    /// once: the server moves our record and relay sessions to the new source only on a sealed
    /// message from it.
    @Test func carrierChangeSendsAKeepaliveAtOnce() throws {
        let client = try SignalingClient(
            config: SignalingClientConfig(role: .client, uuid: "c", server: Self.server),
            entropy: SeededEntropy(seed: 7), now: .zero)
        let peer = ServerPeer()
        try Self.register(client, peer, token: 4)
        var buffer = ByteBuffer()
        let soon = Instant.zero + .milliseconds(5)
        #expect(client.pollTransmit(now: soon, into: &buffer) == nil, "idle: the keepalive is not due")
        #expect(try #require(client.nextDeadline()) > soon + .seconds(1))
        client.retransmitNow(now: soon)
        #expect(client.nextDeadline() == soon)
        #expect(client.pollTransmit(now: soon, into: &buffer) == Self.server)
        guard case .keepalive? = peer.open(try SignalingMessage.parse(buffer)) else {
            Issue.record("no keepalive")
            return
        }
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    @Test func pinnedAgentRefusesAServerWithAnotherKey() throws {
        let keyA = StaticIdentity.generate(SeededEntropy(seed: 10))
        let serverB = ServerPeer(identity: StaticIdentity.generate(SeededEntropy(seed: 11)))
        let client = try SignalingClient(
            config: SignalingClientConfig(
                role: .device, uuid: "d", serverPublicKey: keyA.publicKey, server: Self.server),
            entropy: SeededEntropy(seed: 3), now: .zero)
        let (send, next) = Self.wire(client, serverB)
        guard case .hello(let helloID, _)? = next(.zero) else {
            Issue.record("no hello")
            return
        }
        send(serverB.challenge(helloID), .zero)
        #expect(client.status == .keyRejected)
        #expect(next(.zero) == nil, "no REGISTER to a server with another key")
        // It keeps trying, slowly (the operator may fix either side).
        #expect(next(.zero + .seconds(7)) == nil)
        guard case .hello? = next(.zero + .seconds(8)) else {
            Issue.record("no slow retry")
            return
        }
        #expect(client.status == .keyRejected)
    }

    @Test func unpinnedAgentTakesTheStatedKeyAndSaysSoOnce() throws {
        let client = try SignalingClient(
            config: SignalingClientConfig(role: .device, uuid: "d", server: Self.server),
            entropy: SeededEntropy(seed: 3), now: .zero)
        let peer = ServerPeer()
        try Self.register(client, peer, token: 5)
        var events: [SignalingClientEvent] = []
        while let event = client.pollEvent() { events.append(event) }
        #expect(events.filter { $0 == .unauthenticatedServer(publicKey: peer.identity.publicKey) }.count == 1)
    }

    @Test func identityConflictIsReportedAndNeverClaimsRegistered() throws {
        let client = try SignalingClient(
            config: SignalingClientConfig(role: .device, uuid: "d", server: Self.server),
            entropy: SeededEntropy(seed: 3), now: .zero)
        let peer = ServerPeer()
        let (send, next) = Self.wire(client, peer)
        guard case .hello(let helloID, _)? = next(.zero) else {
            Issue.record("no hello")
            return
        }
        send(peer.challenge(helloID), .zero)
        guard case .register(let register)? = next(.zero) else {
            Issue.record("no register")
            return
        }
        send(.error(requestID: register.requestID, code: .identityConflict), .zero)
        var events: [SignalingClientEvent] = []
        while let event = client.pollEvent() { events.append(event) }
        #expect(events.contains(.registrationRefused(.identityConflict)))
        #expect(client.status == .connecting)
        #expect(next(.zero + .seconds(1)) == nil, "retries slowly")
    }

    @Test func clearMessagesWhileRegisteredAreIgnored() throws {
        let client = try SignalingClient(
            config: SignalingClientConfig(role: .device, uuid: "d", server: Self.server),
            entropy: SeededEntropy(seed: 3), now: .zero)
        let peer = ServerPeer()
        try Self.register(client, peer, token: 0x1_0000_0009)
        while client.pollEvent() != nil {}
        let (send, next) = Self.wire(client, peer)
        let before = client.ignoredDatagrams
        // An INTRODUCE in clear (an attacker steering the device's punching): ignored.
        send(
            .introduce(
                .init(
                    requestID: 1, sessionID: 2, clientConnectionID: ConnectionID(rawValue: 3),
                    clientPublicAddress: NetAddress(ipv4: (6, 6, 6, 6), port: 6), clientCandidates: [],
                    relayAllowed: true)),
            .zero)
        #expect(client.pollEvent() == nil)
        #expect(client.ignoredDatagrams == before + 1)
        // Sealed by the server: reported and acknowledged in the channel.
        send(
            peer.seal(
                .introduce(
                    .init(
                        requestID: 1, sessionID: 2, clientConnectionID: ConnectionID(rawValue: 3),
                        clientPublicAddress: NetAddress(ipv4: (7, 7, 7, 7), port: 7), clientCandidates: [],
                        relayAllowed: true))), .zero)
        guard case .introduced(let intro)? = client.pollEvent() else {
            Issue.record("not reported")
            return
        }
        #expect(intro.clientPublicAddress == NetAddress(ipv4: (7, 7, 7, 7), port: 7))
        #expect(next(.zero) == .introduceAck(requestID: 1, token: 0x1_0000_0009, sessionID: 2))
        // A bare unknownSession with another request ID than the channel's low 32 bits: ignored.
        send(.error(requestID: 1, code: .unknownSession), .zero)  // the high half: no
        #expect(client.status == .registered)
        send(.error(requestID: 9, code: .unknownSession), .zero)
        #expect(client.status == .connecting)
    }
}
