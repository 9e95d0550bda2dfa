// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

extension Connection {
    /// After each packet sent: the initiator starts a KEY_UPDATE exchange when an update is due
    /// and flips the key phase once the shared secret is agreed. The responder never flips on
    /// its own; it follows the initiator's flips.
    func updateKeysIfDue(now: Instant, protection: inout PacketProtection) {
        if keyExchange.readyToFlip {
            guard protection.canInitiateKeyUpdate, (try? protection.initiateKeyUpdate()) != nil else { return }
            keyExchange.readyToFlip = false
            packetsSinceKeyUpdate = 0
            lastKeyUpdate = now
            return
        }
        guard role == .initiator, !keyExchange.inProgress,
            packetsSinceKeyUpdate >= config.keyUpdatePackets || now - lastKeyUpdate >= config.keyUpdateInterval,
            let ephemeral = try? makeEphemeral(entropy)
        else { return }
        keyExchange.start(ephemeral: ephemeral)
    }

    func handleKeyUpdate(_ frame: KeyUpdateFrame) throws {
        do {
            if frame.isResponse {
                guard role == .initiator else { throw KeyUpdateViolation("KEY_UPDATE response sent to the responder") }
                guard let shared = try keyExchange.onResponse(frame) else { return }
                protection?.mixIntoNextPhase(shared)
                pingPending = true  // the flip rides on the next packet
                return
            }
            guard role == .responder else { throw KeyUpdateViolation("KEY_UPDATE request sent to the initiator") }
            switch keyExchange.classify(frame) {
            case .ignore:
                return
            case .answerAgain:
                keyExchange.answerAgain()
            case .answer:
                let ephemeral = try makeEphemeral(entropy)
                let shared = try diffieHellman(ephemeral, frame.publicKey, what: "KEY_UPDATE key")
                protection?.mixIntoNextPhase(shared)
                keyExchange.answer(sequence: frame.sequence, publicKey: Array(ephemeral.publicKey.rawRepresentation))
            }
        } catch let error as HandshakeError {
            throw KeyUpdateViolation("KEY_UPDATE: \(error)")
        }
    }

    /// Exchanges completed (a fresh shared secret agreed), for tests and stats.
    package var keyExchangesCompleted: UInt64 { keyExchange.exchanges }
}

/// A KEY_UPDATE frame that breaks the protocol: the connection closes with PROTOCOL_VIOLATION.
struct KeyUpdateViolation: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
