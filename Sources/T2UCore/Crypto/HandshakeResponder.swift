// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Crypto
import NIOCore

/// The clear-text part of a handshake initiation, readable without any crypto.
package struct InitiationSummary: Sendable {
    package let initiatorConnectionID: ConnectionID
    package let ephemeralKey: [UInt8]
}

package enum ResponderOutcome: Sendable {
    case accepted(
        response: [UInt8], keys: SessionKeys, peerConnectionID: ConnectionID, peerStaticKey: [UInt8],
        peerPayload: [UInt8])
    case rejected(reply: [UInt8], reason: HandshakeRejectionReason, peerConnectionID: ConnectionID)
}

/// Device side of the handshake. Stateless: `respond` is a pure function of the datagram, the
/// configuration and the entropy it draws (one ephemeral key), so the connection layer can cache
/// the reply per initiator CID + ephemeral key and resend it for a retransmitted message 1.
package enum HandshakeResponder {
    /// Cheap clear-text parse (no crypto) for routing and duplicate detection.
    package static func summarize(_ datagram: ByteBuffer) throws(HandshakeError) -> InitiationSummary {
        try checkInitiationShape(datagram)
        return InitiationSummary(
            initiatorConnectionID: ConnectionID(rawValue: try datagram.handshakeUInt64(1)),
            ephemeralKey: try datagram.handshakeBytes(
                HandshakeLayout.initiationEphemeralOffset, HandshakeLayout.keyLength))
    }

    /// Checks mac1 and the initiation; `isFresh` sees the authenticated initiator key and
    /// timestamp before any reply is made (false: `HandshakeError.replayed`). `verifier` is the
    /// device password's derived keys (nil: no password required).
    package static func respond(
        to datagram: ByteBuffer, identity: StaticIdentity, verifier: PasswordVerifier?,
        localConnectionID: ConnectionID, payload: [UInt8], entropy: EntropySource,
        isFresh: (_ initiatorStaticKey: [UInt8], _ timestamp: Tai64N) -> Bool = { _, _ in true }
    ) throws(HandshakeError) -> ResponderOutcome {
        guard payload.count <= HandshakeLayout.maxPayloadLength else {
            throw .malformed("payload of \(payload.count) bytes exceeds \(HandshakeLayout.maxPayloadLength)")
        }
        try checkInitiationShape(datagram)
        guard HandshakeMacKeys(responderStatic: identity.publicKey).hasValidMac1(datagram) else {
            throw .authenticationFailed
        }
        let initiation = try readInitiation(datagram, identity: identity)
        guard isFresh(initiation.staticKey, initiation.timestamp) else { throw .replayed }
        var passwordKeys: PasswordVerifier?
        if let verifier {
            guard initiation.hasProof, verifier.verify(proof: initiation.proof, transcript: initiation.proofTranscript)
            else {
                return try rejection(
                    initiation, identity: identity, reason: .passwordRejected, localConnectionID: localConnectionID,
                    entropy: entropy)
            }
            passwordKeys = verifier
        }

        let ephemeral = try makeEphemeral(entropy)
        var state = initiation.state
        var message: [UInt8] = [PacketType.handshakeResponse.rawValue]
        message.reserveCapacity(HandshakeLayout.responseMinLength + payload.count)
        message.appendBigEndian(initiation.initiatorConnectionID.rawValue)
        message.appendBigEndian(localConnectionID.rawValue)
        message.append(passwordKeys == nil ? 0 : HandshakeLayout.flagPasswordMixed)
        state.mixHash(message)  // authenticates both CIDs and the password flag
        let ephemeralPublic = Array(ephemeral.publicKey.rawRepresentation)
        message += ephemeralPublic
        state.mixHash(ephemeralPublic)
        state.mixKey(try diffieHellman(ephemeral, initiation.ephemeralKey, what: "initiator ephemeral key"))  // ee
        state.mixKey(try diffieHellman(ephemeral, initiation.staticKey, what: "initiator static key"))  // se
        state.mixKeyAndHash(passwordKeys?.psk ?? PasswordVerifier.zeroPSK)  // psk2: session keys depend on the password
        message += state.encryptAndHash(payload)

        let secrets = state.split()
        let keys = SessionKeys(
            isInitiator: false, initiatorToResponder: secrets.initiatorToResponder,
            responderToInitiator: secrets.responderToInitiator, handshakeHash: state.hash)
        return .accepted(
            response: message, keys: keys, peerConnectionID: initiation.initiatorConnectionID,
            peerStaticKey: initiation.staticKey, peerPayload: initiation.payload)
    }

    /// `respond` with the verifier made from `password` (tests; the device makes it once).
    package static func respond(
        to datagram: ByteBuffer, identity: StaticIdentity, password: [UInt8]?,
        localConnectionID: ConnectionID, payload: [UInt8], entropy: EntropySource
    ) throws(HandshakeError) -> ResponderOutcome {
        try respond(
            to: datagram, identity: identity,
            verifier: password.map { PasswordVerifier(password: $0, devicePublicKey: identity.publicKey) },
            localConnectionID: localConnectionID, payload: payload, entropy: entropy)
    }

    /// Authenticated refusal of a valid initiation for `reason` (e.g. `.busy`), without checking
    /// the password. The initiator can verify it came from this responder.
    package static func reject(
        _ datagram: ByteBuffer, identity: StaticIdentity, reason: HandshakeRejectionReason,
        localConnectionID: ConnectionID, entropy: EntropySource
    ) throws(HandshakeError) -> ResponderOutcome {
        let initiation = try readInitiation(datagram, identity: identity)
        return try rejection(
            initiation, identity: identity, reason: reason, localConnectionID: localConnectionID, entropy: entropy)
    }

    /// Reads the connection ID of a reply (0x02/0x03) addressed to the initiator.
    package static func replyDestination(_ datagram: ByteBuffer) throws(HandshakeError) -> ConnectionID {
        let type = try datagram.handshakeType()
        switch type {
        case PacketType.handshakeResponse.rawValue:
            guard datagram.readableBytes >= HandshakeLayout.responseMinLength,
                datagram.readableBytes <= HandshakeLayout.responseMaxLength
            else { throw .malformed("handshake response of \(datagram.readableBytes) bytes") }
        case PacketType.handshakeRejection.rawValue:
            guard datagram.readableBytes == HandshakeLayout.rejectionLength else {
                throw .malformed("handshake rejection of \(datagram.readableBytes) bytes")
            }
        default:
            throw .malformed("not a handshake reply (type \(type))")
        }
        return ConnectionID(rawValue: try datagram.handshakeUInt64(1))
    }

    // MARK: - Message 1

    private struct Initiation {
        var state: HandshakeSymmetricState
        var initiatorConnectionID: ConnectionID
        var ephemeralKey: [UInt8]
        var staticKey: [UInt8]
        var timestamp: Tai64N
        var hasProof: Bool
        var proof: [UInt8]
        /// Transcript hash the proof is computed over (before the payload was mixed in).
        var proofTranscript: [UInt8]
        var payload: [UInt8]
    }

    private static func checkInitiationShape(_ datagram: ByteBuffer) throws(HandshakeError) {
        guard try datagram.handshakeType() == PacketType.handshakeInitiation.rawValue else {
            throw .malformed("not a handshake initiation")
        }
        guard datagram.readableBytes == HandshakeLayout.initiationLength else {
            throw .malformed(
                "handshake initiation of \(datagram.readableBytes) bytes, expected \(HandshakeLayout.initiationLength)")
        }
    }

    private static func readInitiation(
        _ datagram: ByteBuffer, identity: StaticIdentity
    ) throws(HandshakeError) -> Initiation {
        try checkInitiationShape(datagram)
        let header = try datagram.handshakeBytes(0, HandshakeLayout.initiationHeaderLength)
        let initiatorCID = ConnectionID(rawValue: try datagram.handshakeUInt64(1))
        let ephemeralKey = try datagram.handshakeBytes(
            HandshakeLayout.initiationEphemeralOffset, HandshakeLayout.keyLength)
        let encryptedStatic = try datagram.handshakeBytes(
            HandshakeLayout.initiationStaticOffset, HandshakeLayout.keyLength + HandshakeLayout.tagLength)
        let encryptedPayload = try datagram.handshakeBytes(
            HandshakeLayout.initiationPayloadOffset,
            HandshakeLayout.initiationPayloadPlaintextLength + HandshakeLayout.tagLength)

        var state = HandshakeSymmetricState(responderStatic: identity.publicKey)
        state.mixHash(header)
        state.mixHash(ephemeralKey)
        state.mixKey(try diffieHellman(identity.privateKey, ephemeralKey, what: "initiator ephemeral key"))  // es
        let staticKey = try state.decryptAndHash(encryptedStatic)
        state.mixKey(try diffieHellman(identity.privateKey, staticKey, what: "initiator static key"))  // ss
        let proofTranscript = state.hash
        let plaintext = try state.decryptAndHash(encryptedPayload)

        // Authenticated from here on, but still parsed defensively.
        guard plaintext.count == HandshakeLayout.initiationPayloadPlaintextLength else {
            throw .malformed("initiation payload of wrong size")
        }
        let flags = plaintext[0]
        guard flags & ~HandshakeLayout.flagPasswordProof == 0 else { throw .malformed("unknown initiation flags") }
        let timestamp = try Tai64N(
            bytes: plaintext[HandshakeLayout.initiationTimestampOffset..<HandshakeLayout.initiationProofOffset])
        let proofEnd = HandshakeLayout.initiationProofOffset + HandshakeLayout.proofLength
        let length = Int(plaintext[proofEnd]) << 8 | Int(plaintext[proofEnd + 1])
        guard length <= HandshakeLayout.maxPayloadLength else {
            throw .malformed("initiation payload length \(length)")
        }
        let payloadStart = proofEnd + 2
        return Initiation(
            state: state, initiatorConnectionID: initiatorCID, ephemeralKey: ephemeralKey, staticKey: staticKey,
            timestamp: timestamp, hasProof: flags & HandshakeLayout.flagPasswordProof != 0,
            proof: Array(plaintext[HandshakeLayout.initiationProofOffset..<proofEnd]),
            proofTranscript: proofTranscript, payload: Array(plaintext[payloadStart..<(payloadStart + length)]))
    }

    // MARK: - Rejection

    private static func rejection(
        _ initiation: Initiation, identity: StaticIdentity, reason: HandshakeRejectionReason,
        localConnectionID: ConnectionID, entropy: EntropySource
    ) throws(HandshakeError) -> ResponderOutcome {
        let ephemeral = try makeEphemeral(entropy)
        var state = initiation.state
        var message: [UInt8] = [PacketType.handshakeRejection.rawValue]
        message.reserveCapacity(HandshakeLayout.rejectionLength)
        message.appendBigEndian(initiation.initiatorConnectionID.rawValue)
        message.appendBigEndian(localConnectionID.rawValue)
        state.mixHash(message)
        let ephemeralPublic = Array(ephemeral.publicKey.rawRepresentation)
        message += ephemeralPublic
        state.mixHash(ephemeralPublic)
        state.mixKey(try diffieHellman(ephemeral, initiation.ephemeralKey, what: "initiator ephemeral key"))  // ee
        state.mixKey(try diffieHellman(ephemeral, initiation.staticKey, what: "initiator static key"))  // se
        message += state.encryptAndHash([reason.rawValue])  // no psk: the initiator may not know the password
        return .rejected(reply: message, reason: reason, peerConnectionID: initiation.initiatorConnectionID)
    }
}
