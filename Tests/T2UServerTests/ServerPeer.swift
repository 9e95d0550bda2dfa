// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import T2UCore

/// The server's half of signaling, by hand, to drive a `SignalingClient` in tests: CHALLENGE
/// with its key, the IK responder for REGISTER, and its end of the channel.
final class ServerPeer {
    let identity: StaticIdentity
    var channel: SealedChannel?
    let entropy = SeededEntropy(seed: 77)

    init(identity: StaticIdentity = ServerHarness.serverIdentity) { self.identity = identity }

    func challenge(_ requestID: UInt32) -> SignalingMessage {
        .challenge(
            requestID: requestID, cookie: [UInt8](repeating: 1, count: SignalingLimits.cookieLength),
            serverPublicKey: identity.publicKey)
    }

    /// REGISTERED for `register` (nil when it does not open with our key).
    func registered(
        _ register: SignalingMessage.Register, token: UInt64, observed: NetAddress,
        keepaliveSeconds: UInt16 = 20
    ) -> SignalingMessage? {
        guard let responder = try? SignalingRegistration.Responder(register, server: identity),
            let replied = try? responder.reply(
                requestID: register.requestID,
                answer: RegisteredPayload(token: token, keepaliveSeconds: keepaliveSeconds, observed: observed),
                entropy: entropy)
        else { return nil }
        channel = replied.1
        return replied.0
    }

    func seal(_ message: SignalingMessage) -> SignalingMessage { .sealed(channel!.seal(message)) }

    /// `message` opened when it is SEALED in our channel; as is otherwise.
    func open(_ message: SignalingMessage) -> SignalingMessage? {
        guard case .sealed(let sealed) = message else { return message }
        guard channel?.id == sealed.channel else { return nil }
        return try? channel!.open(sealed)
    }
}

extension SignalingClientConfig {
    /// A test agent's configuration with a key pair derived from its UUID (deterministic).
    init(
        role: SignalingRole, uuid: String, extra: [UInt8] = [], candidates: [NetAddress] = [],
        serverPublicKey: [UInt8]? = nil,
        server: NetAddress, observationServer: NetAddress? = nil
    ) {
        let seed = uuid.utf8.reduce(UInt64(1_469_598_103_934_665_603)) { ($0 ^ UInt64($1)) &* 1_099_511_628_211 }
        self.init(
            role: role, uuid: uuid, identity: StaticIdentity.generate(SeededEntropy(seed: seed)), extra: extra,
            candidates: candidates, serverPublicKey: serverPublicKey, server: server,
            observationServer: observationServer)
    }
}
