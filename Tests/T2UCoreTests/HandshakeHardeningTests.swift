// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import Testing

@testable import T2UCore

/// Protocol v2 of the transport handshake under attack: mac1 before any work, cookies under
/// load, per-source budgets, replayed initiations, a password that was sent and not proven.
@Suite struct HandshakeHardeningTests {
    typealias F = HandshakeFixture
    static let deviceAddress = NetAddress(ipv4: (203, 0, 113, 20), port: 50000)
    static let clientAddress = NetAddress(ipv4: (198, 51, 100, 10), port: 40000)

    let entropy = SeededEntropy(seed: 0x4841_4E44)
    let deviceIdentity = F.identity(2)

    func makeDevice(password: [UInt8]? = nil, handshakesPerSecond: Double = 200) -> TransportEndpoint {
        var options = TransportEndpoint.Options(
            config: TransportConfig(), identity: deviceIdentity, acceptIncoming: true,
            password: password)
        options.handshakesPerSecond = handshakesPerSecond
        return TransportEndpoint(options: options, entropy: entropy)
    }

    func makeClient(identity: StaticIdentity? = nil) -> TransportEndpoint {
        TransportEndpoint(
            options: .init(config: TransportConfig(), identity: identity ?? .generate(entropy), acceptIncoming: false),
            entropy: entropy)
    }

    /// Every datagram `from` wants to send now, with its destination.
    func drain(_ from: TransportEndpoint, now: Instant) -> [(NetAddress, ByteBuffer)] {
        var out: [(NetAddress, ByteBuffer)] = []
        var buffer = ByteBufferAllocator().buffer(capacity: 2048)
        while let destination = from.pollTransmit(now: now, into: &buffer) { out.append((destination, buffer)) }
        return out
    }

    /// Shuttles datagrams between client and device until neither sends anything more.
    func exchange(
        client: TransportEndpoint, device: TransportEndpoint, now: Instant,
        clientAddress: NetAddress = Self.clientAddress
    ) {
        for _ in 0..<20 {
            let toDevice = drain(client, now: now)
            for (_, datagram) in toDevice { device.receive(datagram, from: clientAddress, now: now) }
            let toClient = drain(device, now: now)
            for (_, datagram) in toClient { client.receive(datagram, from: Self.deviceAddress, now: now) }
            if toDevice.isEmpty && toClient.isEmpty { return }
        }
    }

    func initiation(from client: TransportEndpoint, password: [UInt8]? = nil, now: Instant) -> (Connection, ByteBuffer)
    {
        let connection = client.connect(
            to: Self.deviceAddress, remoteStaticKey: deviceIdentity.publicKey, password: password, now: now)
        let sent = drain(client, now: now).map(\.1).filter { Self.type($0) == PacketType.handshakeInitiation.rawValue }
        return (connection, sent[0])
    }

    static func type(_ datagram: ByteBuffer) -> UInt8? {
        datagram.getInteger(at: datagram.readerIndex, as: UInt8.self)
    }

    // MARK: mac1

    /// Initiation-sized junk fails mac1: no reply, no budget charged, no DH; a genuine client is
    /// then served at once (no cookie round trip needed).
    @Test func junkInitiationsFailMac1BeforeAnyBudget() throws {
        let device = makeDevice(handshakesPerSecond: 10)
        for index in 0..<5_000 {
            var junk = entropy.bytes(HandshakeLayout.initiationLength)
            junk[0] = PacketType.handshakeInitiation.rawValue
            let source = NetAddress(
                host: .v4(UInt32(truncatingIfNeeded: entropy.nextUInt64())), port: UInt16(index & 0xffff))
            #expect(device.receive(F.buffer(junk), from: source, now: .zero) == nil)
        }
        #expect(device.initiationsFailingMac1 == 5_000)
        #expect(device.handshakesRateLimited == 0)
        #expect(device.cookieRepliesSent == 0)
        #expect(drain(device, now: .zero).isEmpty, "junk was answered")

        let client = makeClient()
        let connection = client.connect(
            to: Self.deviceAddress, remoteStaticKey: deviceIdentity.publicKey, password: nil, now: .zero)
        exchange(client: client, device: device, now: .zero)
        #expect(connection.state == .established)
        #expect(device.cookieRepliesSent == 0)
    }

    /// An initiation whose mac1 was made for another key (a sender not told ours) is junk too.
    @Test func mac1BindsTheResponderKey() throws {
        let device = makeDevice()
        let client = makeClient()
        let connection = client.connect(
            to: Self.deviceAddress, remoteStaticKey: F.identity(9).publicKey, password: nil, now: .zero)
        for (_, datagram) in drain(client, now: .zero) {
            device.receive(datagram, from: Self.clientAddress, now: .zero)
        }
        #expect(device.initiationsFailingMac1 == 1)
        #expect(drain(device, now: .zero).isEmpty)
        #expect(connection.state == .handshaking)
    }

    // MARK: cookies and budgets

    /// Beyond half the handshake rate, sources that have not proven their address get a
    /// COOKIE_REPLY (smaller than the initiation) instead of a DH; the genuine client re-sends
    /// with mac2 at once and completes in one more round trip, while a copy of its initiation
    /// from another source (spoofed) is still only answered with a cookie.
    @Test func underLoadCookieProvesTheSourceAndTheClientCompletes() throws {
        let device = makeDevice(handshakesPerSecond: 10)
        // 200 spoofed sources with valid mac1 (the attacker knows the device key).
        for index in 0..<200 {
            let (_, datagram) = initiation(from: makeClient(), now: .zero)
            device.receive(
                datagram, from: NetAddress(host: .v4(0x0A00_0000 | UInt32(index) << 8), port: 1000), now: .zero)
        }
        #expect(device.connections.count == 5, "unproven sources took more than half the budget")
        #expect(device.cookieRepliesSent == 195)
        let spoofReplies = drain(device, now: .zero)
        #expect(spoofReplies.allSatisfy { $0.1.readableBytes <= HandshakeLayout.initiationLength })

        let client = makeClient()
        let (connection, first) = initiation(from: client, now: .zero)
        device.receive(first, from: Self.clientAddress, now: .zero)
        let replies = drain(device, now: .zero)
        #expect(replies.count == 1)
        let cookieReply = try #require(replies.first?.1)
        #expect(cookieReply.getInteger(at: cookieReply.readerIndex, as: UInt8.self) == PacketType.cookieReply.rawValue)
        #expect(cookieReply.readableBytes == CookieReply.length)
        #expect(cookieReply.readableBytes < first.readableBytes)

        // A forged cookie reply (random bytes to the client's CID) changes nothing.
        var forged = entropy.bytes(CookieReply.length)
        forged[0] = PacketType.cookieReply.rawValue
        forged.replaceSubrange(1..<9, with: first.getBytes(at: first.readerIndex + 1, length: 8)!)
        client.receive(F.buffer(forged), from: Self.deviceAddress, now: .zero)
        #expect(connection.stats.packetsRejected == 1)

        client.receive(cookieReply, from: Self.deviceAddress, now: .zero)
        let retry = drain(client, now: .zero)
        #expect(retry.count == 1, "the initiation was not re-sent at once")
        let withMac2 = try #require(retry.first?.1)
        #expect(
            withMac2.getBytes(at: withMac2.readerIndex, length: HandshakeLayout.initiationMac2Offset)
                == first.getBytes(at: first.readerIndex, length: HandshakeLayout.initiationMac2Offset))

        // The same bytes from a spoofed source: mac2 is bound to the client's address.
        device.receive(withMac2, from: NetAddress(ipv4: (10, 9, 9, 9), port: 5), now: .zero)
        #expect(device.cookieRepliesSent == 197)
        _ = drain(device, now: .zero)

        device.receive(withMac2, from: Self.clientAddress, now: .zero)
        exchange(client: client, device: device, now: .zero)
        #expect(connection.state == .established)
    }

    /// A source is limited by its /24's budget (burst twice the per-prefix rate).
    @Test func sourcesAreBudgetedPerPrefix() throws {
        var options = TransportEndpoint.Options(
            config: TransportConfig(), identity: deviceIdentity, acceptIncoming: true)
        options.handshakesPerSecond = 1000
        options.handshakesPerSourcePrefixPerSecond = 5
        let device = TransportEndpoint(options: options, entropy: entropy)
        for index in 0..<30 {
            let (_, datagram) = initiation(from: makeClient(), now: .zero)
            device.receive(datagram, from: NetAddress(ipv4: (198, 51, 100, UInt8(index)), port: 9), now: .zero)
        }
        #expect(device.connections.count == 10)
        #expect(device.handshakesRateLimited == 20)
        // Another /24 is not affected.
        let (_, datagram) = initiation(from: makeClient(), now: .zero)
        device.receive(datagram, from: NetAddress(ipv4: (198, 51, 101, 1), port: 9), now: .zero)
        #expect(device.connections.count == 11)
    }

    // MARK: replay

    /// A captured initiation replayed after its session ended is refused, also after a newer
    /// one, and one 284 s older than an accepted one is refused; a byte-identical retransmission
    /// while the handshake's connection lives is answered from the reply cache.
    @Test func replayedInitiationsAreRefusedRetransmissionsAnswered() throws {
        let device = makeDevice()
        let clientIdentity = F.identity(1)
        let client = makeClient(identity: clientIdentity)
        let (connection, captured) = initiation(from: client, now: .zero)
        device.receive(captured, from: Self.clientAddress, now: .zero)
        let firstReply = try #require(
            drain(device, now: .zero).map(\.1).first { Self.type($0) == PacketType.handshakeResponse.rawValue })
        #expect(device.connections.count == 1)

        // Retransmission: same bytes, same reply, no new session.
        device.receive(captured, from: Self.clientAddress, now: .zero)
        let repeated = try #require(
            drain(device, now: .zero).map(\.1).first { Self.type($0) == PacketType.handshakeResponse.rawValue })
        #expect(repeated == firstReply)
        #expect(device.connections.count == 1)
        client.receive(firstReply, from: Self.deviceAddress, now: .zero)
        #expect(connection.state == .established)

        // The session ends; the device forgets it.
        let session = device.connections[0]
        session.close(errorCode: 0, reason: "", now: .zero)
        _ = drain(device, now: .zero)
        device.handleTimeout(now: .zero + .seconds(60))
        #expect(device.connections.isEmpty)

        device.receive(captured, from: Self.clientAddress, now: .zero + .seconds(61))
        #expect(device.initiationsReplayed == 1)
        #expect(device.connections.isEmpty, "a replayed initiation made a session")
        #expect(drain(device, now: .zero + .seconds(61)).isEmpty)

        // A newer initiation is accepted; the old one replayed after it is still refused.
        let later = Instant.zero + .seconds(284)
        let (_, fresh) = initiation(from: client, now: later)
        device.receive(fresh, from: Self.clientAddress, now: later)
        #expect(device.connections.count == 1)
        device.receive(captured, from: Self.clientAddress, now: later)
        #expect(device.initiationsReplayed == 2)
        #expect(device.connections.count == 1)

        // An initiation 200 s older than one accepted, never seen before: refused.
        let old = try HandshakeInitiator(
            identity: clientIdentity, responderStaticKey: deviceIdentity.publicKey, password: nil,
            localConnectionID: ConnectionID(rawValue: 77),
            payload: TransportParameters(config: TransportConfig()).encoded(),
            timestamp: Tai64N(unixNanoseconds: later.nanoseconds - Nanos.seconds(200).value), entropy: entropy)
        device.receive(F.buffer(old.initiationDatagram), from: Self.clientAddress, now: later)
        #expect(device.initiationsReplayed == 3)
        #expect(device.connections.count == 1)
    }

    /// Concurrent connections of one client: an initiation overtaken by a newer one (within
    /// the reordering allowance) is still accepted once.
    @Test func reorderedInitiationsOfOneClientAreAccepted() throws {
        let device = makeDevice()
        let client = makeClient()
        let (first, a) = initiation(from: client, now: .zero)
        let (second, b) = initiation(from: client, now: .zero + .milliseconds(1))
        device.receive(b, from: Self.clientAddress, now: .zero + .milliseconds(2))
        device.receive(a, from: Self.clientAddress, now: .zero + .milliseconds(2))
        #expect(device.connections.count == 2)
        #expect(device.initiationsReplayed == 0)
        exchange(client: client, device: device, now: .zero + .milliseconds(3))
        #expect(first.state == .established)
        #expect(second.state == .established)
    }

    @Test func replayGuardUnitRules() {
        var guardTable = InitiationReplayGuard()
        let key = [UInt8](repeating: 1, count: 32)
        func accept(_ timestamp: Tai64N, from key: [UInt8]) -> Bool { guardTable.accept(timestamp, from: key) }
        let t = Tai64N(unixSeconds: 1_800_000_000, nanoseconds: 0)
        #expect(accept(t, from: key))
        #expect(!accept(t, from: key))
        #expect(accept(t.successor, from: key))
        let fiveSecondsEarlier = Tai64N(unixSeconds: 1_799_999_995, nanoseconds: 0)
        #expect(accept(fiveSecondsEarlier, from: key))
        #expect(!accept(fiveSecondsEarlier, from: key))
        #expect(!accept(Tai64N(unixSeconds: 1_799_999_989, nanoseconds: 0), from: key))
        // Another key has its own record.
        #expect(accept(fiveSecondsEarlier, from: [UInt8](repeating: 2, count: 32)))
        // Overflowing the recent set raises the floor.
        for step in 1...InitiationReplayGuard.recentLimit {
            #expect(accept(Tai64N(unixSeconds: 1_800_000_001, nanoseconds: UInt32(step)), from: key))
        }
        #expect(!accept(Tai64N(unixSeconds: 1_799_999_996, nanoseconds: 0), from: key))
    }

    // MARK: password

    /// Port status -5 comes from `.passwordRejected`: a device without a password answering a
    /// client that sent one, and a device with another password, both end there; the right
    /// password establishes.
    @Test(arguments: [(nil, false), (Array("other".utf8), false), (Array("secret".utf8), true)] as [([UInt8]?, Bool)])
    func sentPasswordMustBeProven(devicePassword: [UInt8]?, succeeds: Bool) {
        let device = makeDevice(password: devicePassword)
        let client = makeClient()
        let connection = client.connect(
            to: Self.deviceAddress, remoteStaticKey: deviceIdentity.publicKey,
            password: Array("secret".utf8), now: .zero)
        exchange(client: client, device: device, now: .zero)
        if succeeds {
            #expect(connection.state == .established)
        } else {
            #expect(connection.state == .closed)
            var reasons: [ConnectionCloseReason] = []
            while let event = connection.pollEvent() { if case .closed(let reason) = event { reasons.append(reason) } }
            #expect(reasons == [.passwordRejected])
        }
    }

    /// The verifier is salted with the device key: the same password gives other keys on
    /// another device, so one device's initiations say nothing about another's.
    @Test func passwordVerifierIsSaltedPerDevice() {
        let a = PasswordVerifier(password: Array("1234".utf8), devicePublicKey: F.identity(2).publicKey)
        let b = PasswordVerifier(password: Array("1234".utf8), devicePublicKey: F.identity(3).publicKey)
        #expect(a.psk != b.psk)
        #expect(a.proofKey != b.proofKey)
        #expect(a.psk != a.proofKey)
    }

    // MARK: formats

    @Test func tai64nRoundTripsAndOrders() throws {
        let t = Tai64N(unixNanoseconds: 1_800_000_000_123_456_789)
        #expect(t.bytes.count == 12)
        #expect(t.bytes[0] == 0x40)  // 2^62 offset
        #expect(try Tai64N(bytes: t.bytes[...]) == t)
        #expect(t < t.successor)
        #expect(Tai64N(unixSeconds: 5, nanoseconds: 999_999_999).successor == Tai64N(unixSeconds: 6, nanoseconds: 0))
        var bad = t.bytes
        bad[8] = 0xFF
        #expect(throws: HandshakeError.self) { try Tai64N(bytes: bad[...]) }
        #expect(throws: HandshakeError.self) { try Tai64N(bytes: bad[1...]) }
    }

    @Test func lruTableEvictsLeastRecentlyUsed() {
        var table = LRUTable<Int, String>(capacity: 3)
        table.set("a", for: 1)
        table.set("b", for: 2)
        table.set("c", for: 3)
        #expect(table.value(for: 1) == "a")  // 1 is now the newest
        #expect(table.set("d", for: 4) == 2)
        #expect(table.value(for: 2) == nil)
        #expect(table.set("e", for: 5) == 3)
        #expect(table.count == 3)
        #expect(table.value(for: 1) == "a")
        #expect(table.value(for: 4) == "d")
        #expect(table.value(for: 5) == "e")
    }
}
