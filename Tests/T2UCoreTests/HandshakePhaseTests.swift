// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import Testing

@testable import T2UCore

/// The handshake phases of a `Connection` (`HandshakePhase`): what the initiator sends while
/// waiting, what the responder re-sends while its reply may be lost, and that nothing of
/// either is left once the handshake is over.
@Suite struct HandshakePhaseTests {
    typealias F = HandshakeFixture
    static let device = NetAddress(ipv4: (203, 0, 113, 20), port: 50000)
    static let client = NetAddress(ipv4: (198, 51, 100, 10), port: 40000)
    static let relay = NetAddress(ipv4: (192, 0, 2, 1), port: 3478)
    static let lan = NetAddress(ipv4: (192, 168, 1, 20), port: 50000)

    let entropy = SeededEntropy(seed: 0x5048_4153)
    let config = TransportConfig()
    let deviceIdentity = F.identity(2)

    func makeClient(now: Instant = .zero) -> Connection {
        Connection(
            config: config, identity: F.identity(1), remoteStaticKey: deviceIdentity.publicKey,
            password: nil, peerAddress: Self.device, timestamp: F.timestamp, entropy: entropy,
            now: now)
    }

    func makeDevice() -> TransportEndpoint {
        TransportEndpoint(
            options: .init(config: config, identity: deviceIdentity, acceptIncoming: true),
            entropy: entropy)
    }

    /// Every datagram `connection` sends now: destination and bytes.
    func drain(_ connection: Connection, now: Instant) -> [(NetAddress, [UInt8])] {
        var out: [(NetAddress, [UInt8])] = []
        var buffer = ByteBufferAllocator().buffer(capacity: 2048)
        while let destination = connection.pollTransmit(now: now, into: &buffer), out.count < 100 {
            out.append((destination, Array(buffer.readableBytesView)))
        }
        return out
    }

    static func isInitiation(_ datagram: (NetAddress, [UInt8])) -> Bool {
        datagram.1.first == PacketType.handshakeInitiation.rawValue
    }

    /// A client whose initiation the device accepted, its reply not sent yet.
    func acceptedWithoutReply() throws -> (client: Connection, device: Connection, initiation: [UInt8]) {
        let client = makeClient()
        let initiation = try #require(drain(client, now: .zero).first).1
        let device = try #require(
            makeDevice().receive(F.buffer(initiation), from: Self.client, now: .zero))
        return (client, device, initiation)
    }

    /// The same, with the device's reply sent once (to the client).
    func accepted() throws
        -> (client: Connection, device: Connection, initiation: [UInt8], reply: [UInt8])
    {
        let (client, device, initiation) = try acceptedWithoutReply()
        let replies = drain(device, now: .zero)
        try #require(replies.count == 1)
        #expect(replies[0].0 == Self.client)
        return (client, device, initiation, replies[0].1)
    }

    // MARK: initiator

    /// The initiation goes at once, then with doubling intervals from 2 x initial RTT up to 2 s,
    /// byte for byte the same each time.
    @Test func initiationBacksOffToTwoSeconds() {
        let client = makeClient()
        var now = Instant.zero
        var sent: [Instant] = []
        var copies: Set<[UInt8]> = []
        while let deadline = client.nextDeadline(), client.state == .handshaking, sent.count < 8 {
            now = deadline
            client.handleTimeout(now: now)
            for datagram in drain(client, now: now) {
                #expect(datagram.0 == Self.device)
                sent.append(now)
                copies.insert(datagram.1)
            }
        }
        let intervals = zip(sent.dropFirst(), sent).map { $0 - $1 }
        #expect(intervals == [200, 400, 800, 1600, 2000, 2000, 2000].map { Nanos.milliseconds($0) })
        #expect(copies.count == 1)
    }

    /// Each also-to address gets a copy at once, and one after every retransmission to the
    /// peer; known addresses add nothing, and naming the peer address sends to it at once.
    @Test func alsoToAddressesGetEveryCopy() {
        let client = makeClient()
        #expect(drain(client, now: .zero).map(\.0) == [Self.device])
        let now = Instant.zero + .milliseconds(10)
        client.sendHandshake(alsoTo: Self.relay, now: now)
        client.sendHandshake(alsoTo: Self.lan, now: now)
        client.sendHandshake(alsoTo: Self.relay, now: now)
        #expect(client.nextDeadline() == now, "owed copies are due at once")
        #expect(drain(client, now: now).map(\.0) == [Self.relay, Self.lan])
        #expect(client.nextDeadline() == Instant.zero + .milliseconds(200))

        client.sendHandshake(alsoTo: Self.device, now: now)
        #expect(drain(client, now: now).map(\.0) == [Self.device, Self.relay, Self.lan])
        let retransmit = now + .milliseconds(400)
        #expect(client.nextDeadline() == retransmit)
        #expect(drain(client, now: retransmit - .milliseconds(1)).isEmpty)
        #expect(drain(client, now: retransmit).map(\.0) == [Self.device, Self.relay, Self.lan])
    }

    /// At most `maxAlsoToAddresses` other addresses, so a caller's loop cannot make the
    /// initiator spray without bound.
    @Test func alsoToAddressesAreBounded() {
        let client = makeClient()
        _ = drain(client, now: .zero)
        for port in 1...20 {
            client.sendHandshake(alsoTo: NetAddress(ipv4: (192, 0, 2, 9), port: UInt16(port)), now: .zero)
        }
        #expect(drain(client, now: .zero).count == HandshakePhase.maxAlsoToAddresses)
    }

    /// Once established, the initiator never sends its initiation again: neither the
    /// retransmission timer nor `sendHandshake(alsoTo:)` nor a repeated reply brings it back.
    @Test func noRetransmissionAfterEstablished() throws {
        let (client, _, _, reply) = try accepted()
        client.sendHandshake(alsoTo: Self.relay, now: .zero)
        client.receive(F.buffer(reply), from: Self.device, now: .zero)
        #expect(client.state == .established)
        #expect(Self.isDone(client.handshake))
        let rejectedBefore = client.stats.packetsRejected
        client.receive(F.buffer(reply), from: Self.device, now: .zero)
        client.sendHandshake(alsoTo: Self.lan, now: .zero)
        #expect(client.state == .established)
        #expect(client.stats.packetsRejected == rejectedBefore)
        for step in 0..<20 {
            let now = Instant.zero + .milliseconds(Int64(step) * 250)
            client.handleTimeout(now: now)
            #expect(
                !drain(client, now: now).contains(where: Self.isInitiation),
                "initiation at \(now)")
        }
    }

    /// A handshake that times out keeps nothing of its phase.
    @Test func timeoutEndsThePhase() {
        let client = makeClient()
        _ = drain(client, now: .zero)
        client.handleTimeout(now: Instant.zero + config.handshakeTimeout)
        #expect(client.state == .closed)
        #expect(Self.isDone(client.handshake))
        #expect(client.nextDeadline() == nil)
        client.sendHandshake(alsoTo: Self.relay, now: Instant.zero + config.handshakeTimeout)
        #expect(drain(client, now: Instant.zero + config.handshakeTimeout).isEmpty)
    }

    /// Protected-packet junk before any keys exist is dropped, without a trap or a state change.
    @Test func dataPacketsBeforeKeysAreDropped() {
        let client = makeClient()
        for length in [0, 1, 5, DataPacketHeader.length, 40, 1200] {
            for type in [PacketType.dataKeyPhase0, .dataKeyPhase1] {
                let junk = [type.rawValue] + entropy.bytes(length)
                client.receive(F.buffer(junk), from: Self.device, now: .zero)
            }
        }
        #expect(client.state == .handshaking)
        #expect(drain(client, now: .zero).map(\.0) == [Self.device])
    }

    // MARK: responder

    /// A repeated initiation gets the same reply again (new keys would not match the
    /// initiator's), to where the repeat came from; repeats before a send are merged.
    @Test func repeatedInitiationResendsTheCachedReply() throws {
        let (_, device, initiation, reply) = try accepted()
        #expect(drain(device, now: .zero).isEmpty)
        device.receive(F.buffer(initiation), from: Self.client, now: .zero)
        device.receive(F.buffer(initiation), from: Self.relay, now: .zero)
        device.receive(F.buffer(initiation), from: Self.relay, now: .zero)
        #expect(device.nextDeadline() == .zero, "the copies are due at once")
        let copies = drain(device, now: .zero)
        #expect(copies.map(\.0) == [Self.client, Self.relay])
        #expect(copies.allSatisfy { $0.1 == reply })
    }

    /// A repeat that arrives before the first reply went out: the first still goes to the peer
    /// address, then one to the repeat's source.
    @Test func repeatBeforeTheFirstReplyKeepsTheFirst() throws {
        let (_, device, initiation) = try acceptedWithoutReply()
        device.receive(F.buffer(initiation), from: Self.relay, now: .zero)
        let copies = drain(device, now: .zero)
        #expect(copies.map(\.0) == [Self.client, Self.relay])
        #expect(Set(copies.map(\.1)).count == 1)
    }

    /// The initiator's first protected packet proves it has the reply: the cached reply is
    /// dropped and later repeats (replayed initiations) get nothing.
    @Test func firstProtectedPacketEndsTheReplyPhase() throws {
        let (client, device, initiation, reply) = try accepted()
        client.receive(F.buffer(reply), from: Self.device, now: .zero)
        let confirmations = drain(client, now: .zero)
        #expect(!confirmations.isEmpty)
        for (_, datagram) in confirmations {
            device.receive(F.buffer(datagram), from: Self.client, now: .zero)
        }
        #expect(Self.isDone(device.handshake))
        device.receive(F.buffer(initiation), from: Self.relay, now: .zero)
        #expect(!drain(device, now: .zero).contains { $0.1 == reply })
    }

    /// Replies owed at once are bounded: a flood of repeats from many sources costs at most
    /// `maxReplyDestinations` copies per send round.
    @Test func replyDestinationsAreBounded() {
        var replying = HandshakePhase.Replying(reply: [1, 2, 3])
        for port in 1...20 {
            let source = NetAddress(ipv4: (192, 0, 2, 9), port: UInt16(port))
            replying.initiationRepeated(from: source, peer: Self.client)
        }
        var destinations: [NetAddress] = []
        while let destination = replying.nextDestination(peer: Self.client) {
            destinations.append(destination)
        }
        #expect(destinations.count == HandshakePhase.maxReplyDestinations)
        #expect(destinations.first == Self.client, "the first reply, still owed, goes first")
        // The peer address is read when the first copy goes, not when it was owed.
        var fresh = HandshakePhase.Replying(reply: [1])
        #expect(fresh.nextDestination(peer: Self.lan) == Self.lan)
        #expect(fresh.nextDestination(peer: Self.lan) == nil)
    }

    static func isDone(_ phase: HandshakePhase) -> Bool {
        if case .done = phase { return true }
        return false
    }
}
