// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import Testing

@testable import T2UCore

@Suite struct PacketProtectionTests {
    typealias F = HandshakeFixture

    /// A real handshake's keys (client, device).
    static func sessionPair(password: [UInt8]? = nil) throws -> (PacketProtection, PacketProtection) {
        let device = F.identity(2)
        let initiator = try HandshakeInitiator(
            identity: F.identity(1), responderStaticKey: device.publicKey, password: password,
            localConnectionID: F.clientCID, payload: [], timestamp: HandshakeFixture.timestamp,
            entropy: SeededEntropy(seed: 1))
        guard
            case let .accepted(response, deviceKeys, _, _, _) = try HandshakeResponder.respond(
                to: F.buffer(initiator.initiationDatagram), identity: device, password: password,
                localConnectionID: F.deviceCID, payload: [], entropy: SeededEntropy(seed: 2)),
            case let .established(clientKeys, _, _) = try initiator.handleReply(F.buffer(response))
        else { throw HandshakeError.authenticationFailed }
        return (PacketProtection(keys: clientKeys), PacketProtection(keys: deviceKeys))
    }

    @Test func roundTripsBothDirectionsAtManySizes() throws {
        var (client, device) = try Self.sessionPair(password: [1, 2])
        let entropy = SeededEntropy(seed: 42)
        for (index, size) in [0, 1, 15, 16, 17, 100, 1200, 1400, 9000].enumerated() {
            let payload = entropy.bytes(size)
            #expect(try F.transfer(payload, from: &client, to: &device, packetNumber: UInt64(index)) == payload)
            #expect(try F.transfer(payload, from: &device, to: &client, packetNumber: UInt64(index)) == payload)
        }
    }

    @Test func sealedLayoutIsHeaderCiphertextTag() throws {
        var (client, _) = try Self.sessionPair()
        let plaintext = [UInt8](repeating: 0x61, count: 50)
        let packet = F.sealed(plaintext, by: &client, packetNumber: 3)
        #expect(packet.readableBytes == 3 + plaintext.count + PacketProtection.tagLength)
        #expect(packet.getBytes(at: packet.readerIndex, length: 3) == [0x04, 0x01, 0x02])
        #expect(packet.getBytes(at: packet.readerIndex + 3, length: 50) != plaintext)
    }

    @Test func rejectsTamperingWrongNumberAndShortPackets() throws {
        var (client, device) = try Self.sessionPair()
        let packet = F.sealed(Array("payload".utf8), by: &client, packetNumber: 10)
        let bytes = packet.getBytes(at: packet.readerIndex, length: packet.readableBytes)!
        for position in bytes.indices {
            var tampered = bytes
            tampered[position] ^= 0x20
            #expect(throws: PacketProtectionError.authenticationFailed, "position \(position)") {
                try device.open(packet: F.buffer(tampered), headerLength: 3, packetNumber: 10, keyPhase: 0)
            }
        }
        #expect(throws: PacketProtectionError.authenticationFailed) {
            try device.open(packet: packet, headerLength: 3, packetNumber: 11, keyPhase: 0)
        }
        #expect(throws: PacketProtectionError.tooShort) {
            try device.open(packet: F.buffer(Array(bytes.prefix(18))), headerLength: 3, packetNumber: 10, keyPhase: 0)
        }
        // Our own packet reflected back does not open: directions use distinct keys.
        #expect(throws: PacketProtectionError.authenticationFailed) {
            try client.open(packet: packet, headerLength: 3, packetNumber: 10, keyPhase: 0)
        }
        #expect(try device.open(packet: packet, headerLength: 3, packetNumber: 10, keyPhase: 0).readableBytes == 7)
    }

    /// A packet with an empty body is header and tag only: the genuine one opens to nothing, and
    /// any other tag is refused (a first in-place open took a failed empty open for success).
    @Test func anEmptyBodyOpensOnlyWithItsTag() throws {
        var (client, device) = try Self.sessionPair()
        let packet = F.sealed([], by: &client, packetNumber: 5)
        let bytes = packet.getBytes(at: packet.readerIndex, length: packet.readableBytes)!
        #expect(bytes.count == 3 + PacketProtection.tagLength)
        for position in bytes.indices {
            var forged = bytes
            forged[position] ^= 0x01
            #expect(throws: PacketProtectionError.authenticationFailed, "position \(position)") {
                try device.open(packet: F.buffer(forged), headerLength: 3, packetNumber: 5, keyPhase: 0)
            }
        }
        #expect(try device.open(packet: packet, headerLength: 3, packetNumber: 5, keyPhase: 0).readableBytes == 0)
    }

    @Test func keyUpdateFlipsPhaseAndKeepsPreviousKeysForReordering() throws {
        var (client, device) = try Self.sessionPair()
        #expect(!client.canInitiateKeyUpdate)
        #expect(throws: PacketProtectionError.keyUpdateTooEarly) { try client.initiateKeyUpdate() }

        _ = try F.transfer([1], from: &device, to: &client, packetNumber: 0)
        #expect(client.canInitiateKeyUpdate)
        let lateOldPhase = F.sealed([2], by: &client, packetNumber: 1)  // delayed in the network
        try client.initiateKeyUpdate()
        #expect(client.sendKeyPhase == 1)
        #expect(client.keyUpdates == 1)
        #expect(!client.canInitiateKeyUpdate, "no second update before the peer uses the new phase")

        // The device sees phase 1, authenticates it with the next keys and follows.
        #expect(try F.transfer([3], from: &client, to: &device, packetNumber: 2) == [3])
        #expect(device.sendKeyPhase == 1)
        #expect(device.keyUpdates == 1)
        // The reordered phase-0 packet still opens with the kept previous keys.
        var late = try device.open(packet: lateOldPhase, headerLength: 3, packetNumber: 1, keyPhase: 0)
        #expect(late.readBytes(length: 1) == [2])
        #expect(device.sendKeyPhase == 1)

        // Device -> client in the new phase.
        #expect(try F.transfer([4], from: &device, to: &client, packetNumber: 1) == [4])
        #expect(client.canInitiateKeyUpdate)

        // Second update, initiated by the device this time.
        #expect(device.canInitiateKeyUpdate)
        try device.initiateKeyUpdate()
        #expect(device.sendKeyPhase == 0)
        #expect(try F.transfer([5], from: &device, to: &client, packetNumber: 2) == [5])
        #expect(client.sendKeyPhase == 0)
        #expect(client.keyUpdates == 2)
        #expect(try F.transfer([6], from: &client, to: &device, packetNumber: 3) == [6])
    }

    @Test func initiatorReceivesPeerPacketsOfTheOldPhaseAfterUpdating() throws {
        var (client, device) = try Self.sessionPair()
        _ = try F.transfer([1], from: &device, to: &client, packetNumber: 0)
        try client.initiateKeyUpdate()
        // The device has not seen the update yet and keeps sending phase 0.
        #expect(try F.transfer([2], from: &device, to: &client, packetNumber: 1) == [2])
        #expect(client.sendKeyPhase == 1)
        #expect(client.keyUpdates == 1)
        #expect(!client.canInitiateKeyUpdate)
    }

    @Test func peerTwoPhasesAheadIsFollowed() throws {
        // The client updates; the device follows on the first new-phase packet and, having seen
        // the new phase, updates again before any of its phase-1 packets reach the client.
        var (client, device) = try Self.sessionPair()
        _ = try F.transfer([1], from: &device, to: &client, packetNumber: 0)
        try client.initiateKeyUpdate()
        _ = try F.transfer([2], from: &client, to: &device, packetNumber: 1)
        let lostPhase1 = F.sealed([3], by: &device, packetNumber: 1)
        try device.initiateKeyUpdate()
        #expect(device.sendKeyPhase == 0)
        #expect(try F.transfer([4], from: &device, to: &client, packetNumber: 2) == [4])
        #expect(client.keyUpdates == 2)
        #expect(client.sendKeyPhase == 0)
        // The delayed phase-1 packet is now "previous" and still opens.
        var late = try client.open(packet: lostPhase1, headerLength: 3, packetNumber: 1, keyPhase: 1)
        #expect(late.readBytes(length: 1) == [3])
        #expect(try F.transfer([5], from: &client, to: &device, packetNumber: 3) == [5])
    }

    @Test func keysTwoPhasesOldAreGone() throws {
        var (client, device) = try Self.sessionPair()
        _ = try F.transfer([1], from: &device, to: &client, packetNumber: 0)
        let ancient = F.sealed([9], by: &client, packetNumber: 1)
        try client.initiateKeyUpdate()
        _ = try F.transfer([2], from: &client, to: &device, packetNumber: 2)
        _ = try F.transfer([3], from: &device, to: &client, packetNumber: 1)
        try client.initiateKeyUpdate()
        _ = try F.transfer([4], from: &client, to: &device, packetNumber: 3)
        #expect(device.keyUpdates == 2)
        #expect(throws: PacketProtectionError.authenticationFailed) {
            try device.open(packet: ancient, headerLength: 3, packetNumber: 1, keyPhase: 0)
        }
    }

    @Test func forgedOtherPhasePacketDoesNotSwitchKeys() throws {
        var (client, device) = try Self.sessionPair()
        let junk = F.buffer([0x05, 0, 0] + SeededEntropy(seed: 5).bytes(60))
        #expect(throws: PacketProtectionError.authenticationFailed) {
            try device.open(packet: junk, headerLength: 3, packetNumber: 100, keyPhase: 1)
        }
        #expect(device.sendKeyPhase == 0)
        #expect(device.keyUpdates == 0)
        #expect(try F.transfer([1], from: &client, to: &device, packetNumber: 101) == [1])
    }

    /// Quick throughput probe (meaningful numbers need `-c release`; see the report).
    @Test func sealOpenThroughputProbe() throws {
        var (client, device) = try Self.sessionPair()
        let payload = [UInt8](repeating: 0x42, count: 1400)
        var template = ByteBufferAllocator().buffer(capacity: 1500)
        template.writeBytes([0x04, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
        template.writeBytes(payload)
        let count = 20_000
        let clock = ContinuousClock()
        var opened = 0
        let elapsed = try clock.measure {
            for pn in 0..<UInt64(count) {
                var packet = template
                client.seal(packet: &packet, headerLength: 12, packetNumber: pn)
                opened += try device.open(packet: packet, headerLength: 12, packetNumber: pn, keyPhase: 0).readableBytes
            }
        }
        #expect(opened == count * 1400)
        let nanos = Double(elapsed.components.seconds) * 1e9 + Double(elapsed.components.attoseconds) / 1e9
        let perPacket = nanos / Double(count)
        print("seal+open 1400 B: \(Int(perPacket)) ns/packet, \(Int(1400 / perPacket * 1000)) MB/s")
    }
}

@Suite struct PacketNonceTests {
    /// The nonce `keys` seal `packetNumber` with, as bytes.
    func nonceBytes(_ keys: PhaseKeys, _ packetNumber: UInt64) -> [UInt8] {
        keys.withNonce(packetNumber) { Array(UnsafeRawBufferPointer(start: $0, count: PacketAEAD.nonceLength)) }
    }

    @Test(arguments: [0, 1, 0xFF, 0x0102_0304_0506_0708, .max] as [UInt64])
    func nonceIsIVXorBigEndianPacketNumber(packetNumber: UInt64) {
        let keys = PhaseKeys(secret: [UInt8](repeating: 9, count: 32))
        let iv = nonceBytes(keys, 0)
        let nonce = nonceBytes(keys, packetNumber)
        #expect(nonce.count == 12)
        var expected = iv
        for i in 0..<8 { expected[4 + i] ^= UInt8(truncatingIfNeeded: packetNumber >> UInt64(56 - 8 * i)) }
        #expect(nonce == expected)
        // Deterministic (no uninitialised padding bytes).
        #expect(nonceBytes(keys, packetNumber) == nonce)
    }
}
