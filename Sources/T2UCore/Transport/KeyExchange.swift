// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Crypto

/// State of the fresh-DH key update (docs/protocol/handshake.md, "Key updates"). Only the
/// connection's initiator starts an exchange, so two exchanges never cross:
///
///   initiator: idle --due--> requested(seq, e_i) --response(seq, e_r)--> ready --flip--> idle
///   responder: idle --request(seq, e_i)--> answered(seq, e_r), no flips of its own
///              --peer's flip seen--> idle
///
/// Lost frames are sent again while current; a repeated request gets the same answer; stale
/// sequence numbers are ignored.
struct KeyExchange {
    /// Initiator: the request in flight and its ephemeral key.
    private(set) var outstanding: (sequence: UInt64, ephemeral: Curve25519.KeyAgreement.PrivateKey)?
    private var lastSequence: UInt64 = 0
    /// Initiator: the shared secret is in the next phase's keys; flip at the next packet.
    var readyToFlip = false
    /// Responder: the last request answered and our public key in the answer.
    private(set) var answered: (sequence: UInt64, publicKey: [UInt8])?
    /// Responder: the peer has not yet moved to the phase our answer keyed; we never flip.
    private(set) var awaitingPeerFlip = false
    private var requestPending = false
    private var responsePending = false
    /// Completed exchanges (a shared secret agreed), either role.
    private(set) var exchanges: UInt64 = 0

    var inProgress: Bool { outstanding != nil || readyToFlip }
    var hasFrameToSend: Bool { requestPending || responsePending }

    mutating func start(ephemeral: Curve25519.KeyAgreement.PrivateKey) {
        lastSequence += 1
        outstanding = (lastSequence, ephemeral)
        requestPending = true
    }

    /// Initiator: the response to our request: returns the shared secret (nil: stale or not ours).
    mutating func onResponse(_ frame: KeyUpdateFrame) throws(HandshakeError) -> [UInt8]? {
        guard let current = outstanding, current.sequence == frame.sequence else { return nil }
        let shared = try diffieHellman(current.ephemeral, frame.publicKey, what: "KEY_UPDATE key")
        outstanding = nil
        requestPending = false
        readyToFlip = true
        exchanges += 1
        return shared
    }

    enum RequestAction { case ignore, answerAgain, answer }

    /// Responder: what to do with a request.
    func classify(_ frame: KeyUpdateFrame) -> RequestAction {
        if let answered, answered.sequence == frame.sequence { return .answerAgain }
        // The initiator requests again only after its flip, which we saw before reading this.
        guard frame.sequence > (answered?.sequence ?? 0), !awaitingPeerFlip else { return .ignore }
        return .answer
    }

    mutating func answerAgain() { responsePending = true }

    mutating func answer(sequence: UInt64, publicKey: [UInt8]) {
        answered = (sequence, publicKey)
        responsePending = true
        awaitingPeerFlip = true
        exchanges += 1
    }

    mutating func onPeerKeyUpdate() {
        awaitingPeerFlip = false
        responsePending = false
    }

    /// The frame to put in the next packet, if one is owed.
    func frameToSend() -> KeyUpdateFrame? {
        if requestPending, let outstanding {
            return KeyUpdateFrame(
                isResponse: false, sequence: outstanding.sequence,
                publicKey: Array(outstanding.ephemeral.publicKey.rawRepresentation))
        }
        if responsePending, let answered {
            return KeyUpdateFrame(isResponse: true, sequence: answered.sequence, publicKey: answered.publicKey)
        }
        return nil
    }

    mutating func didSend(_ frame: KeyUpdateFrame) {
        if frame.isResponse { responsePending = false } else { requestPending = false }
    }

    mutating func onLost(sequence: UInt64, isResponse: Bool) {
        if isResponse {
            if awaitingPeerFlip, answered?.sequence == sequence { responsePending = true }
        } else if outstanding?.sequence == sequence {
            requestPending = true
        }
    }
}
