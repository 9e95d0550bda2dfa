// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import Testing

@testable import T2UCore

/// Key updates that mix a fresh X25519 shared secret (KEY_UPDATE exchange).
@Suite struct KeyUpdateDHTests {
    typealias F = HandshakeFixture

    /// Both sides mix the same shared secret: the next phase opens in both directions, the
    /// previous phase's late packets still open, and the new keys differ from a plain update's.
    @Test func sharedSecretMixedIntoTheNextPhase() throws {
        var (client, device) = try PacketProtectionTests.sessionPair()
        var (plainClient, plainDevice) = try PacketProtectionTests.sessionPair()
        #expect(try F.transfer([1], from: &device, to: &client, packetNumber: 0) == [1])
        #expect(try F.transfer([1], from: &plainDevice, to: &plainClient, packetNumber: 0) == [1])
        let late = F.sealed([7], by: &device, packetNumber: 1)
        let shared = [UInt8](repeating: 0x42, count: 32)
        client.mixIntoNextPhase(shared)
        device.mixIntoNextPhase(shared)
        try client.initiateKeyUpdate()
        try plainClient.initiateKeyUpdate()
        let afterUpdate = F.sealed([2], by: &client, packetNumber: 5)
        let plainAfterUpdate = F.sealed([2], by: &plainClient, packetNumber: 5)
        #expect(afterUpdate != plainAfterUpdate, "the shared secret changed nothing")
        var opened = try device.open(
            packet: afterUpdate, headerLength: 3, packetNumber: 5, keyPhase: client.sendKeyPhase)
        #expect(opened.readBytes(length: opened.readableBytes) == [2])
        #expect(device.keyUpdates == 1)
        #expect(try F.transfer([3], from: &device, to: &client, packetNumber: 6) == [3])
        var lateOpened = try client.open(packet: late, headerLength: 3, packetNumber: 1, keyPhase: 0)
        #expect(lateOpened.readBytes(length: lateOpened.readableBytes) == [7])
        // A later update without a new secret is a plain one again, on both sides.
        #expect(try F.transfer([4], from: &client, to: &device, packetNumber: 7) == [4])
        try client.initiateKeyUpdate()
        #expect(try F.transfer([5], from: &client, to: &device, packetNumber: 8) == [5])
    }

    /// A peer that mixed another secret (or none) cannot open the next phase: the update is
    /// bound to the DH both sides computed.
    @Test func differentSecretsDoNotInteroperate() throws {
        var (client, device) = try PacketProtectionTests.sessionPair()
        #expect(try F.transfer([1], from: &device, to: &client, packetNumber: 0) == [1])
        client.mixIntoNextPhase([UInt8](repeating: 1, count: 32))
        device.mixIntoNextPhase([UInt8](repeating: 2, count: 32))
        try client.initiateKeyUpdate()
        #expect(throws: PacketProtectionError.authenticationFailed) {
            try F.transfer([2], from: &client, to: &device, packetNumber: 5)
        }
        #expect(device.keyUpdates == 0)
    }

    /// The state machine: one request at a time, a repeated request gets the same answer, a
    /// stale response is ignored, and the responder holds until it sees the initiator's flip.
    @Test func exchangeStateMachine() throws {
        let entropy = SeededEntropy(seed: 5)
        var initiator = KeyExchange()
        var responder = KeyExchange()
        initiator.start(ephemeral: try makeEphemeral(entropy))
        let request = try #require(initiator.frameToSend())
        #expect(!request.isResponse && request.sequence == 1)
        initiator.didSend(request)
        #expect(initiator.frameToSend() == nil)
        initiator.onLost(sequence: 1, isResponse: false)
        #expect(initiator.frameToSend() == request, "a lost request is not sent again")

        #expect(responder.classify(request) == .answer)
        let responderKey = Array(try makeEphemeral(entropy).publicKey.rawRepresentation)
        responder.answer(sequence: 1, publicKey: responderKey)
        #expect(responder.awaitingPeerFlip)
        #expect(responder.classify(request) == .answerAgain)
        let response = try #require(responder.frameToSend())
        #expect(response.isResponse && response.publicKey == responderKey)

        #expect(try initiator.onResponse(KeyUpdateFrame(isResponse: true, sequence: 9, publicKey: responderKey)) == nil)
        #expect(try initiator.onResponse(response) != nil)
        #expect(initiator.readyToFlip)
        #expect(try initiator.onResponse(response) == nil, "a duplicate response was taken twice")
        responder.onPeerKeyUpdate()
        #expect(!responder.awaitingPeerFlip)
        #expect(responder.classify(request) == .answerAgain)
        #expect(responder.classify(KeyUpdateFrame(isResponse: false, sequence: 2, publicKey: responderKey)) == .answer)
    }
}
