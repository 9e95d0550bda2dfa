// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Crypto

/// Registration as a Noise IK handshake (docs/protocol/channel.md): the agent (initiator) knows
/// the server's static key (pinned `svrkey`, or the one CHALLENGE stated) and proves its own
/// static key by the `ss` term, so the server takes a device's key only from this handshake.
///   REGISTER:   h/ck from the protocol name; mixHash(server static); mixHash(26 header bytes);
///               e; es; s (encrypted); ss; payload (encrypted)
///   REGISTERED: e; ee; se; payload (encrypted); split -> (agent->server, server->agent)
package enum SignalingRegistration {
    static let protocolName = Array("t2u signaling IK X25519 ChaChaPoly SHA256 v2".utf8)
    /// The cookie of a client's REGISTER sent without HELLO (docs/protocol/channel.md).
    package static let noCookie = [UInt8](repeating: 0, count: SignalingLimits.cookieLength)

    package enum Failure: Error, Equatable, Sendable {
        /// `es` did not open the static: the REGISTER was encrypted to another server key.
        case wrongServerKey
        /// The static or payload did not authenticate (no private key for the static, tampering).
        case authenticationFailed
        case invalidKey(String)
        case malformed(SignalingParseError)
    }

    /// The agent's side between sending REGISTER and receiving REGISTERED. REGISTER is built once
    /// and retransmitted as is (same ephemeral), so the server can recognise a retransmission.
    package struct Initiator: Sendable {
        package let message: SignalingMessage.Register
        package let serverPublicKey: [UInt8]
        private let state: HandshakeSymmetricState
        private let ephemeral: StaticIdentity
        private let identity: StaticIdentity

        package init(
            requestID: UInt32, role: SignalingRole, cookie: [UInt8], identity: StaticIdentity, serverPublicKey: [UInt8],
            payload: RegistrationPayload, entropy: EntropySource
        ) throws(Failure) {
            let ephemeral = StaticIdentity.generate(entropy)
            var state = HandshakeSymmetricState(
                protocolName: SignalingRegistration.protocolName, responderStatic: serverPublicKey)
            state.mixHash(SignalingRegistration.header(requestID: requestID, role: role, cookie: cookie))
            state.mixHash(ephemeral.publicKey)
            state.mixKey(try SignalingRegistration.dh(ephemeral, serverPublicKey, "server key"))
            let encryptedStatic = state.encryptAndHash(identity.publicKey)
            state.mixKey(try SignalingRegistration.dh(identity, serverPublicKey, "server key"))
            let encryptedPayload = state.encryptAndHash(payload.encoded())
            self.message = SignalingMessage.Register(
                requestID: requestID, role: role, cookie: cookie, ephemeral: ephemeral.publicKey,
                encryptedStatic: encryptedStatic, encryptedPayload: encryptedPayload)
            self.serverPublicKey = serverPublicKey
            self.state = state
            self.ephemeral = ephemeral
            self.identity = identity
        }

        /// Opens REGISTERED: the registration's answer and the channel it set up.
        package func complete(
            ephemeral serverEphemeral: [UInt8], encryptedPayload: [UInt8]
        )
            throws(Failure) -> (RegisteredPayload, SealedChannel)
        {
            var state = self.state
            guard serverEphemeral.count == SignalingLimits.publicKeyLength else {
                throw .invalidKey("server ephemeral")
            }
            state.mixHash(serverEphemeral)
            state.mixKey(try SignalingRegistration.dh(ephemeral, serverEphemeral, "server ephemeral"))
            state.mixKey(try SignalingRegistration.dh(identity, serverEphemeral, "server ephemeral"))
            let plaintext: [UInt8]
            do { plaintext = try state.decryptAndHash(encryptedPayload) } catch { throw .authenticationFailed }
            let payload: RegisteredPayload
            do { payload = try RegisteredPayload.parse(plaintext) } catch { throw .malformed(error) }
            let keys = state.split()
            return (
                payload,
                SealedChannel(
                    id: payload.token, sendKey: keys.initiatorToResponder, receiveKey: keys.responderToInitiator)
            )
        }
    }

    /// The server's side: a REGISTER opened with the server's static key.
    package struct Responder: Sendable {
        /// The agent's static key, authenticated by `ss`.
        package let agentStatic: [UInt8]
        package let payload: RegistrationPayload
        private let state: HandshakeSymmetricState
        private let agentEphemeral: [UInt8]

        package init(_ message: SignalingMessage.Register, server: StaticIdentity) throws(Failure) {
            var state = HandshakeSymmetricState(
                protocolName: SignalingRegistration.protocolName, responderStatic: server.publicKey)
            state.mixHash(
                SignalingRegistration.header(requestID: message.requestID, role: message.role, cookie: message.cookie))
            state.mixHash(message.ephemeral)
            state.mixKey(try SignalingRegistration.dh(server, message.ephemeral, "agent ephemeral"))
            let agentStatic: [UInt8]
            do { agentStatic = try state.decryptAndHash(message.encryptedStatic) } catch { throw .wrongServerKey }
            state.mixKey(try SignalingRegistration.dh(server, agentStatic, "agent static"))
            let plaintext: [UInt8]
            do { plaintext = try state.decryptAndHash(message.encryptedPayload) } catch { throw .authenticationFailed }
            do { payload = try RegistrationPayload.parse(plaintext) } catch { throw .malformed(error) }
            self.agentStatic = agentStatic
            self.state = state
            self.agentEphemeral = message.ephemeral
        }

        /// REGISTERED carrying `answer`, and the server's end of the channel (ID = the token).
        package func reply(
            requestID: UInt32, answer: RegisteredPayload, entropy: EntropySource
        )
            throws(Failure) -> (SignalingMessage, SealedChannel)
        {
            var state = self.state
            let ephemeral = StaticIdentity.generate(entropy)
            state.mixHash(ephemeral.publicKey)
            state.mixKey(try SignalingRegistration.dh(ephemeral, agentEphemeral, "agent ephemeral"))
            state.mixKey(try SignalingRegistration.dh(ephemeral, agentStatic, "agent static"))
            let encrypted = state.encryptAndHash(answer.encoded())
            let keys = state.split()
            return (
                .registered(requestID: requestID, ephemeral: ephemeral.publicKey, encryptedPayload: encrypted),
                SealedChannel(
                    id: answer.token, sendKey: keys.responderToInitiator, receiveKey: keys.initiatorToResponder)
            )
        }
    }

    /// REGISTER's clear header: type requestID role cookie (26 bytes).
    static func header(requestID: UInt32, role: SignalingRole, cookie: [UInt8]) -> [UInt8] {
        var bytes: [UInt8] = [SignalingMessageType.register.rawValue]
        bytes.reserveCapacity(SignalingLimits.registerHeaderLength)
        for shift in stride(from: 24, through: 0, by: -8) {
            bytes.append(UInt8(truncatingIfNeeded: requestID >> UInt32(shift)))
        }
        bytes.append(role.rawValue)
        bytes.append(contentsOf: cookie.prefix(SignalingLimits.cookieLength))
        return bytes
    }

    private static func dh(_ own: StaticIdentity, _ peer: [UInt8], _ what: String) throws(Failure) -> [UInt8] {
        do {
            return try diffieHellman(own.privateKey, peer, what: what)
        } catch {
            throw .invalidKey(what)
        }
    }
}
