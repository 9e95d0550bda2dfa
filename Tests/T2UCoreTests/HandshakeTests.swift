// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import Testing

@testable import T2UCore

@Suite struct HandshakeTests {
    typealias F = HandshakeFixture
    let client = F.identity(1)
    let device = F.identity(2)

    func makeInitiator(
        password: [UInt8]?, pinned: [UInt8]? = nil, payload: [UInt8] = [1, 2, 3], seed: UInt64 = 10
    ) throws -> HandshakeInitiator {
        try HandshakeInitiator(
            identity: client, responderStaticKey: pinned ?? device.publicKey, password: password,
            localConnectionID: F.clientCID, payload: payload, timestamp: HandshakeFixture.timestamp,
            entropy: SeededEntropy(seed: seed))
    }

    func respond(
        _ message: [UInt8], password: [UInt8]?, payload: [UInt8] = [9, 8], seed: UInt64 = 20
    ) throws -> ResponderOutcome {
        try HandshakeResponder.respond(
            to: F.buffer(message), identity: device, password: password, localConnectionID: F.deviceCID,
            payload: payload, entropy: SeededEntropy(seed: seed))
    }

    func expectEstablished(clientPassword: [UInt8]?, devicePassword: [UInt8]?) throws {
        let initiator = try makeInitiator(password: clientPassword)
        #expect(initiator.initiationDatagram.first == PacketType.handshakeInitiation.rawValue)
        guard
            case let .accepted(response, deviceKeys, peerCID, peerStatic, peerPayload) =
                try respond(initiator.initiationDatagram, password: devicePassword)
        else {
            Issue.record("responder rejected")
            return
        }
        #expect(response.first == PacketType.handshakeResponse.rawValue)
        #expect(peerCID == F.clientCID)
        #expect(peerStatic == client.publicKey)
        #expect(peerPayload == [1, 2, 3])
        #expect(!deviceKeys.isInitiator)
        #expect(try HandshakeResponder.replyDestination(F.buffer(response)) == F.clientCID)

        guard
            case let .established(clientKeys, deviceCID, devicePayload) = try initiator.handleReply(F.buffer(response))
        else {
            Issue.record("initiator did not establish")
            return
        }
        #expect(clientKeys.isInitiator)
        #expect(deviceCID == F.deviceCID)
        #expect(devicePayload == [9, 8])
        #expect(F.keysAgree(clientKeys, deviceKeys))
    }

    @Test func succeedsWithoutPassword() throws {
        try expectEstablished(clientPassword: nil, devicePassword: nil)
    }

    @Test func succeedsWithPassword() throws {
        try expectEstablished(clientPassword: Array("correct horse".utf8), devicePassword: Array("correct horse".utf8))
    }

    @Test func succeedsWithEmptyAndLongPasswords() throws {
        try expectEstablished(clientPassword: [], devicePassword: [])
        let long = [UInt8](repeating: 0x5A, count: 1000)
        try expectEstablished(clientPassword: long, devicePassword: long)
    }

    /// v2 fails closed: a client that sent a password does not accept a device that never
    /// proved it (v1 silently fell back to no password, so an impostor needed none).
    @Test func sentPasswordNotProvenFailsClosed() throws {
        let initiator = try makeInitiator(password: Array("unneeded".utf8))
        guard case let .accepted(response, _, _, _, _) = try respond(initiator.initiationDatagram, password: nil) else {
            Issue.record("responder rejected")
            return
        }
        #expect(response[HandshakeLayout.responseHeaderLength - 1] & HandshakeLayout.flagPasswordMixed == 0)
        guard case .passwordNotProven = try initiator.handleReply(F.buffer(response)) else {
            Issue.record("accepted a device that did not prove the password")
            return
        }
    }

    @Test func sessionKeysDependOnPassword() throws {
        // Same ephemeral entropy, with and without a password: the session keys must differ.
        let withPassword = try makeInitiator(password: [7])
        let without = try makeInitiator(password: nil)
        guard case let .accepted(_, keysA, _, _, _) = try respond(withPassword.initiationDatagram, password: [7]),
            case let .accepted(_, keysB, _, _, _) = try respond(without.initiationDatagram, password: nil)
        else {
            Issue.record("not accepted")
            return
        }
        #expect(keysA.sendSecret != keysB.sendSecret)
        #expect(!F.keysAgree(keysA, keysB.swappedRole))
    }

    @Test(arguments: [Array("wrong".utf8), Array("correct horsf".utf8), nil] as [[UInt8]?])
    func wrongOrMissingPasswordIsRejectedAuthentically(clientPassword: [UInt8]?) throws {
        let initiator = try makeInitiator(password: clientPassword)
        guard
            case let .rejected(reply, reason, peerCID) = try respond(
                initiator.initiationDatagram, password: Array("correct horse".utf8))
        else {
            Issue.record("accepted a wrong password")
            return
        }
        #expect(reason == .passwordRejected)
        #expect(peerCID == F.clientCID)
        #expect(reply.first == PacketType.handshakeRejection.rawValue)
        #expect(reply.count <= initiator.initiationDatagram.count)
        #expect(try HandshakeResponder.replyDestination(F.buffer(reply)) == F.clientCID)
        guard case .rejected(.passwordRejected) = try initiator.handleReply(F.buffer(reply)) else {
            Issue.record("initiator did not see the rejection")
            return
        }
    }

    @Test func forgedRejectionIsNotAuthentic() throws {
        let initiator = try makeInitiator(password: [1])
        // The attacker saw message 1 but lacks the device key: it can only answer as itself.
        let attacker = F.identity(666)
        let towardsAttacker = try HandshakeInitiator(
            identity: client, responderStaticKey: attacker.publicKey, password: [1],
            localConnectionID: F.clientCID, payload: [], timestamp: HandshakeFixture.timestamp,
            entropy: SeededEntropy(seed: 10))
        let forged = try HandshakeResponder.reject(
            F.buffer(towardsAttacker.initiationDatagram), identity: attacker, reason: .passwordRejected,
            localConnectionID: F.deviceCID, entropy: SeededEntropy(seed: 3))
        guard case let .rejected(reply, _, _) = forged else {
            Issue.record("no reply")
            return
        }
        #expect(throws: HandshakeError.authenticationFailed) { try initiator.handleReply(F.buffer(reply)) }
        // Nor can the attacker decrypt message 1 meant for the device.
        #expect(throws: HandshakeError.authenticationFailed) {
            try HandshakeResponder.respond(
                to: F.buffer(initiator.initiationDatagram), identity: attacker, password: nil,
                localConnectionID: F.deviceCID, payload: [], entropy: SeededEntropy(seed: 3))
        }
        // Random bytes shaped like a rejection to our CID.
        var random = SeededEntropy(seed: 77).bytes(HandshakeLayout.rejectionLength)
        random[0] = PacketType.handshakeRejection.rawValue
        random.replaceSubrange(1..<9, with: initiator.initiationDatagram[1..<9])
        #expect(throws: HandshakeError.authenticationFailed) { try initiator.handleReply(F.buffer(random)) }
    }

    @Test func busyRejection() throws {
        let initiator = try makeInitiator(password: nil)
        guard
            case let .rejected(reply, .busy, _) = try HandshakeResponder.reject(
                F.buffer(initiator.initiationDatagram), identity: device, reason: .busy,
                localConnectionID: F.deviceCID, entropy: SeededEntropy(seed: 4))
        else {
            Issue.record("no busy rejection")
            return
        }
        guard case .rejected(.busy) = try initiator.handleReply(F.buffer(reply)) else {
            Issue.record("initiator did not see busy")
            return
        }
    }

    @Test func wrongPinnedKeyFails() throws {
        let initiator = try makeInitiator(password: nil, pinned: F.identity(3).publicKey)
        #expect(throws: HandshakeError.authenticationFailed) {
            try respond(initiator.initiationDatagram, password: nil)
        }
        #expect(throws: HandshakeError.self) { try makeInitiator(password: nil, pinned: [1, 2, 3]) }
    }

    @Test func responseFromAnotherDeviceFails() throws {
        // The client pinned `device`, but an impostor answers a handshake addressed to it.
        let impostor = F.identity(4)
        let initiator = try makeInitiator(password: nil)
        let towardsImpostor = try HandshakeInitiator(
            identity: client, responderStaticKey: impostor.publicKey, password: nil,
            localConnectionID: F.clientCID, payload: [], timestamp: HandshakeFixture.timestamp,
            entropy: SeededEntropy(seed: 10))
        guard
            case let .accepted(response, _, _, _, _) = try HandshakeResponder.respond(
                to: F.buffer(towardsImpostor.initiationDatagram), identity: impostor, password: nil,
                localConnectionID: F.deviceCID, payload: [], entropy: SeededEntropy(seed: 5))
        else {
            Issue.record("impostor did not accept")
            return
        }
        #expect(throws: HandshakeError.authenticationFailed) { try initiator.handleReply(F.buffer(response)) }
    }

    @Test func tamperedInitiationAlwaysFails() throws {
        let initiator = try makeInitiator(password: [42])
        let message = initiator.initiationDatagram
        // mac2 is checked by the endpoint's admission (against the source's cookie), not here.
        for position in message.indices.prefix(HandshakeLayout.initiationMac2Offset) {
            var tampered = message
            tampered[position] ^= 0x01
            #expect(throws: HandshakeError.self, "position \(position)") { try respond(tampered, password: [42]) }
        }
        #expect(throws: HandshakeError.self) { try respond(Array(message.dropLast()), password: nil) }
        #expect(throws: HandshakeError.self) { try respond(message + [0], password: nil) }
    }

    @Test(arguments: [nil, [UInt8]("pw".utf8)] as [[UInt8]?])
    func tamperedResponseAlwaysFails(password: [UInt8]?) throws {
        let initiator = try makeInitiator(password: password)
        guard case let .accepted(response, _, _, _, _) = try respond(initiator.initiationDatagram, password: password)
        else {
            Issue.record("rejected")
            return
        }
        for position in response.indices {
            for flip: UInt8 in [0x01, 0x80] {
                var tampered = response
                tampered[position] ^= flip
                #expect(throws: HandshakeError.self, "position \(position)") {
                    try initiator.handleReply(F.buffer(tampered))
                }
            }
        }
        for length in 0..<response.count {
            #expect(throws: HandshakeError.self) { try initiator.handleReply(F.buffer(Array(response.prefix(length)))) }
        }
        // The untouched response still completes: failed attempts leave the initiator unchanged.
        guard case .established = try initiator.handleReply(F.buffer(response)) else {
            Issue.record("not established")
            return
        }
    }

    @Test func tamperedRejectionAlwaysFails() throws {
        let initiator = try makeInitiator(password: [1])
        guard case let .rejected(reply, _, _) = try respond(initiator.initiationDatagram, password: [2]) else {
            Issue.record("accepted")
            return
        }
        for position in reply.indices {
            var tampered = reply
            tampered[position] ^= 0x04
            #expect(throws: HandshakeError.self, "position \(position)") {
                try initiator.handleReply(F.buffer(tampered))
            }
        }
    }

    @Test func replayedInitiationYieldsSameResponse() throws {
        let initiator = try makeInitiator(password: [5])
        let first = try respond(initiator.initiationDatagram, password: [5], seed: 99)
        let second = try respond(initiator.initiationDatagram, password: [5], seed: 99)
        guard case let .accepted(r1, k1, _, _, _) = first, case let .accepted(r2, k2, _, _, _) = second else {
            Issue.record("not accepted")
            return
        }
        #expect(r1 == r2)
        #expect(F.keysAgree(k1.swappedRole, k2))
        let rejected1 = try respond(initiator.initiationDatagram, password: [6], seed: 99)
        let rejected2 = try respond(initiator.initiationDatagram, password: [6], seed: 99)
        guard case let .rejected(j1, _, _) = rejected1, case let .rejected(j2, _, _) = rejected2 else {
            Issue.record("not rejected")
            return
        }
        #expect(j1 == j2)
    }

    @Test func summaryReadsClearFields() throws {
        let initiator = try makeInitiator(password: nil)
        let summary = try HandshakeResponder.summarize(F.buffer(initiator.initiationDatagram))
        #expect(summary.initiatorConnectionID == F.clientCID)
        #expect(summary.ephemeralKey == Array(initiator.initiationDatagram[9..<41]))
        #expect(throws: HandshakeError.self) { try HandshakeResponder.summarize(F.buffer([])) }
        #expect(throws: HandshakeError.self) {
            try HandshakeResponder.summarize(F.buffer([0x02] + initiator.initiationDatagram.dropFirst()))
        }
        #expect(throws: HandshakeError.self) {
            try HandshakeResponder.replyDestination(F.buffer(initiator.initiationDatagram))
        }
    }

    @Test func initiationIsNeverSmallerThanAReply() throws {
        let full = [UInt8](repeating: 0xAB, count: HandshakeLayout.maxPayloadLength)
        let initiator = try makeInitiator(password: nil, payload: [])
        guard
            case let .accepted(response, _, _, _, _) = try respond(
                initiator.initiationDatagram, password: nil, payload: full)
        else {
            Issue.record("rejected")
            return
        }
        #expect(response.count == HandshakeLayout.responseMaxLength)
        #expect(initiator.initiationDatagram.count >= response.count)
        #expect(initiator.initiationDatagram.count >= HandshakeLayout.rejectionLength)
        // Payload size does not change message 1's size.
        #expect(
            try makeInitiator(password: [1], payload: full).initiationDatagram.count
                == initiator.initiationDatagram.count)
        #expect(throws: HandshakeError.self) { try makeInitiator(password: nil, payload: full + [0]) }
        #expect(throws: HandshakeError.self) {
            try respond(initiator.initiationDatagram, password: nil, payload: full + [0])
        }
    }

    @Test func replyForAnotherConnectionIsMalformed() throws {
        let initiator = try makeInitiator(password: nil)
        let other = try HandshakeInitiator(
            identity: client, responderStaticKey: device.publicKey, password: nil,
            localConnectionID: ConnectionID(rawValue: 5), payload: [], timestamp: HandshakeFixture.timestamp,
            entropy: SeededEntropy(seed: 11))
        guard case let .accepted(response, _, _, _, _) = try respond(other.initiationDatagram, password: nil) else {
            Issue.record("rejected")
            return
        }
        #expect(throws: HandshakeError.self) { try initiator.handleReply(F.buffer(response)) }
    }
}

extension SessionKeys {
    /// The same secrets seen from the other side (lets a test pair two responder results).
    var swappedRole: SessionKeys {
        SessionKeys(
            isInitiator: !isInitiator, initiatorToResponder: initiatorToResponder,
            responderToInitiator: responderToInitiator, handshakeHash: handshakeHash)
    }
}

/// Shared helpers for the handshake, packet protection and fuzz suites.
enum HandshakeFixture {
    static let clientCID = ConnectionID(rawValue: 0x1111_2222_3333_4444)
    static let deviceCID = ConnectionID(rawValue: 0xAAAA_BBBB_CCCC_DDDD)

    static func identity(_ seed: UInt64) -> StaticIdentity { StaticIdentity.generate(SeededEntropy(seed: seed)) }

    /// A wall-clock timestamp for initiations (2027-01-15).
    static let timestamp = Tai64N(unixSeconds: 1_800_000_000, nanoseconds: 0)

    /// Bytes as a ByteBuffer whose readerIndex is not 0 (junk in front), as the shell may hand them.
    static func buffer(_ bytes: [UInt8], junkPrefix: Int = 5) -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: bytes.count + junkPrefix)
        buffer.writeBytes([UInt8](repeating: 0xEE, count: junkPrefix))
        buffer.writeBytes(bytes)
        buffer.moveReaderIndex(forwardBy: junkPrefix)
        return buffer
    }

    /// Seals `plaintext` behind a 3-byte header on one side and opens it on the other.
    static func transfer(
        _ plaintext: [UInt8], from sender: inout PacketProtection, to receiver: inout PacketProtection,
        packetNumber: UInt64
    ) throws(PacketProtectionError) -> [UInt8] {
        var packet = sealed(plaintext, by: &sender, packetNumber: packetNumber)
        packet.moveReaderIndex(forwardBy: 0)
        var opened = try receiver.open(
            packet: packet, headerLength: 3, packetNumber: packetNumber, keyPhase: sender.sendKeyPhase)
        return opened.readBytes(length: opened.readableBytes) ?? []
    }

    static func sealed(_ plaintext: [UInt8], by sender: inout PacketProtection, packetNumber: UInt64) -> ByteBuffer {
        var packet = buffer([0x04, 0x01, 0x02] + plaintext, junkPrefix: 7)
        sender.seal(packet: &packet, headerLength: 3, packetNumber: packetNumber)
        return packet
    }

    /// True when each side opens what the other sealed, in both directions.
    static func keysAgree(_ a: SessionKeys, _ b: SessionKeys) -> Bool {
        var pa = PacketProtection(keys: a)
        var pb = PacketProtection(keys: b)
        let message: [UInt8] = Array("hello through the tunnel".utf8)
        guard (try? transfer(message, from: &pa, to: &pb, packetNumber: 7)) == message,
            (try? transfer(message, from: &pb, to: &pa, packetNumber: 9)) == message
        else { return false }
        return true
    }
}
