// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Crypto
import NIOCore

/// What the initiator learns from the responder's reply.
package enum InitiatorOutcome: Sendable {
    case established(SessionKeys, peerConnectionID: ConnectionID, peerPayload: [UInt8])
    /// An authenticated refusal: it provably came from the pinned responder.
    case rejected(HandshakeRejectionReason)
    /// We sent a password and the pinned responder answered without mixing it in (a device
    /// without a password, or one that skipped the check): fail closed, as for a wrong one.
    case passwordNotProven
}

/// Client side of the 1-RTT handshake (Noise IK pattern with a psk2-style password):
/// message 1 is `e, es, s, ss` + payload (password proof, transport parameters) and is built at
/// init; `handleReply` completes it with the responder's `e, ee, se, psk` or reads a rejection.
/// Retransmit `initiationDatagram` until a reply arrives; a COOKIE_REPLY (`handleCookieReply`)
/// changes only its mac2.
package struct HandshakeInitiator: Sendable {
    /// The initiation as it goes out now: mac2 set while a cookie is valid, else zero.
    package private(set) var initiationDatagram: [UInt8]
    /// The initiation up to mac2 (mac1 included): what mac2 covers.
    private let bytesBeforeMac2: [UInt8]
    private let mac1: [UInt8]
    private let macKeys: HandshakeMacKeys
    private var cookieReceivedAt: Instant?

    private let stateAfterInitiation: HandshakeSymmetricState
    private let ephemeral: Curve25519.KeyAgreement.PrivateKey
    private let identity: StaticIdentity
    private let passwordKeys: PasswordVerifier?
    private let localConnectionID: ConnectionID

    /// `timestamp` is the caller's wall clock (TAI64N), strictly increasing per identity: the
    /// responder refuses initiations not newer than those it accepted from the same key.
    package init(
        identity: StaticIdentity, responderStaticKey: [UInt8], password: [UInt8]?,
        localConnectionID: ConnectionID, payload: [UInt8], timestamp: Tai64N, entropy: EntropySource
    ) throws(HandshakeError) {
        guard responderStaticKey.count == HandshakeLayout.keyLength else {
            throw .invalidKey("responder static key must be 32 bytes, got \(responderStaticKey.count)")
        }
        guard payload.count <= HandshakeLayout.maxPayloadLength else {
            throw .malformed("payload of \(payload.count) bytes exceeds \(HandshakeLayout.maxPayloadLength)")
        }
        let ephemeral = try makeEphemeral(entropy)
        let passwordKeys = password.map { PasswordVerifier(password: $0, devicePublicKey: responderStaticKey) }

        var state = HandshakeSymmetricState(responderStatic: responderStaticKey)
        var message: [UInt8] = [PacketType.handshakeInitiation.rawValue]
        message.reserveCapacity(HandshakeLayout.initiationLength)
        message.appendBigEndian(localConnectionID.rawValue)
        state.mixHash(message)  // binds the clear connection ID

        let ephemeralPublic = Array(ephemeral.publicKey.rawRepresentation)
        message += ephemeralPublic
        state.mixHash(ephemeralPublic)
        state.mixKey(try diffieHellman(ephemeral, responderStaticKey, what: "responder static key"))  // es
        message += state.encryptAndHash(identity.publicKey)  // s
        state.mixKey(try diffieHellman(identity.privateKey, responderStaticKey, what: "responder static key"))  // ss

        var plaintext = [UInt8]()
        plaintext.reserveCapacity(HandshakeLayout.initiationPayloadPlaintextLength)
        plaintext.append(passwordKeys == nil ? 0 : HandshakeLayout.flagPasswordProof)
        plaintext += timestamp.bytes
        if let passwordKeys {
            plaintext += passwordKeys.proof(transcript: state.hash)
        } else {
            plaintext += [UInt8](repeating: 0, count: HandshakeLayout.proofLength)
        }
        plaintext.append(UInt8(payload.count >> 8))
        plaintext.append(UInt8(payload.count & 0xff))
        plaintext += payload
        // Constant size: hides payload length and keeps message 1 larger than any reply.
        plaintext += [UInt8](repeating: 0, count: HandshakeLayout.initiationPayloadPlaintextLength - plaintext.count)
        message += state.encryptAndHash(plaintext)

        let macKeys = HandshakeMacKeys(responderStatic: responderStaticKey)
        let mac1 = macKeys.mac1(over: message)
        message += mac1
        self.bytesBeforeMac2 = message
        self.mac1 = mac1
        self.macKeys = macKeys
        self.initiationDatagram = message + [UInt8](repeating: 0, count: HandshakeMacKeys.macLength)
        self.stateAfterInitiation = state
        self.ephemeral = ephemeral
        self.identity = identity
        self.passwordKeys = passwordKeys
        self.localConnectionID = localConnectionID
    }

    /// A COOKIE_REPLY for our initiation: from now on (for `CookieReply.lifetime`) the
    /// initiation carries mac2 under that cookie; send it again at once. A reply that does not
    /// authenticate against our mac1 throws and changes nothing.
    package mutating func handleCookieReply(_ datagram: ByteBuffer, now: Instant) throws(HandshakeError) {
        guard try CookieReply.destination(datagram) == localConnectionID else {
            throw .malformed("cookie reply addressed to another connection")
        }
        let cookie = try CookieReply.open(datagram, mac1: mac1, keys: macKeys)
        initiationDatagram = bytesBeforeMac2 + HandshakeMacKeys.mac2(over: bytesBeforeMac2, cookie: cookie)
        cookieReceivedAt = now
    }

    /// Drops an expired cookie (mac2 back to zero), so the responder hands out a fresh one.
    package mutating func expireCookie(now: Instant) {
        guard let received = cookieReceivedAt, now - received >= CookieReply.lifetime else { return }
        cookieReceivedAt = nil
        initiationDatagram = bytesBeforeMac2 + [UInt8](repeating: 0, count: HandshakeMacKeys.macLength)
    }

    /// For a datagram starting with 0x02 or 0x03 addressed to our CID. Does not change state, so
    /// a forged or corrupted reply can be dropped and the genuine one still handled later.
    package func handleReply(_ datagram: ByteBuffer) throws(HandshakeError) -> InitiatorOutcome {
        let type = try datagram.handshakeType()
        switch type {
        case PacketType.handshakeResponse.rawValue:
            return try handleResponse(datagram)
        case PacketType.handshakeRejection.rawValue:
            return try handleRejection(datagram)
        default:
            throw .malformed("not a handshake reply (type \(type))")
        }
    }

    private func handleResponse(_ datagram: ByteBuffer) throws(HandshakeError) -> InitiatorOutcome {
        guard datagram.readableBytes >= HandshakeLayout.responseMinLength,
            datagram.readableBytes <= HandshakeLayout.responseMaxLength
        else { throw .malformed("handshake response of \(datagram.readableBytes) bytes") }
        let header = try datagram.handshakeBytes(0, HandshakeLayout.responseHeaderLength)
        try checkDestination(datagram)
        let responderCID = ConnectionID(rawValue: try datagram.handshakeUInt64(9))
        let flags = header[HandshakeLayout.responseHeaderLength - 1]
        guard flags & ~HandshakeLayout.flagPasswordMixed == 0 else { throw .malformed("unknown response flags") }
        let responderEphemeral = try datagram.handshakeBytes(
            HandshakeLayout.responseEphemeralOffset, HandshakeLayout.keyLength)
        let encryptedPayload = try datagram.handshakeBytes(
            HandshakeLayout.responsePayloadOffset, datagram.readableBytes - HandshakeLayout.responsePayloadOffset)

        var state = stateAfterInitiation
        state.mixHash(header)
        state.mixHash(responderEphemeral)
        state.mixKey(try diffieHellman(ephemeral, responderEphemeral, what: "responder ephemeral key"))  // ee
        state.mixKey(try diffieHellman(identity.privateKey, responderEphemeral, what: "responder ephemeral key"))  // se
        let psk: [UInt8]
        if flags & HandshakeLayout.flagPasswordMixed != 0 {
            // The responder only mixes a password after verifying our proof, which we never sent.
            guard let passwordKeys else { throw .authenticationFailed }
            psk = passwordKeys.psk
        } else {
            psk = PasswordVerifier.zeroPSK
        }
        state.mixKeyAndHash(psk)
        let payload = try state.decryptAndHash(encryptedPayload)
        // Authenticated by the pinned responder, but it never proved our password: fail closed.
        if passwordKeys != nil, flags & HandshakeLayout.flagPasswordMixed == 0 { return .passwordNotProven }
        let secrets = state.split()
        let keys = SessionKeys(
            isInitiator: true, initiatorToResponder: secrets.initiatorToResponder,
            responderToInitiator: secrets.responderToInitiator, handshakeHash: state.hash)
        return .established(keys, peerConnectionID: responderCID, peerPayload: payload)
    }

    private func handleRejection(_ datagram: ByteBuffer) throws(HandshakeError) -> InitiatorOutcome {
        guard datagram.readableBytes == HandshakeLayout.rejectionLength else {
            throw .malformed("handshake rejection of \(datagram.readableBytes) bytes")
        }
        try checkDestination(datagram)
        let header = try datagram.handshakeBytes(0, HandshakeLayout.rejectionHeaderLength)
        let responderEphemeral = try datagram.handshakeBytes(
            HandshakeLayout.rejectionEphemeralOffset, HandshakeLayout.keyLength)
        let encryptedReason = try datagram.handshakeBytes(
            HandshakeLayout.rejectionReasonOffset, 1 + HandshakeLayout.tagLength)

        var state = stateAfterInitiation
        state.mixHash(header)
        state.mixHash(responderEphemeral)
        state.mixKey(try diffieHellman(ephemeral, responderEphemeral, what: "responder ephemeral key"))  // ee
        state.mixKey(try diffieHellman(identity.privateKey, responderEphemeral, what: "responder ephemeral key"))  // se
        let reasonBytes = try state.decryptAndHash(encryptedReason)
        guard reasonBytes.count == 1, let reason = HandshakeRejectionReason(rawValue: reasonBytes[0]) else {
            throw .malformed("unknown rejection reason")
        }
        return .rejected(reason)
    }

    private func checkDestination(_ datagram: ByteBuffer) throws(HandshakeError) {
        guard try datagram.handshakeUInt64(1) == localConnectionID.rawValue else {
            throw .malformed("reply addressed to another connection")
        }
    }
}

func makeEphemeral(_ entropy: EntropySource) throws(HandshakeError) -> Curve25519.KeyAgreement.PrivateKey {
    do {
        return try Curve25519.KeyAgreement.PrivateKey(rawRepresentation: entropy.bytes(32))
    } catch {
        throw .invalidKey("cannot create ephemeral key")
    }
}
