// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import Testing

@testable import T2UCore

/// The registration handshake (Noise IK) and the sealed channel it sets up.
@Suite struct SignalingChannelTests {
    static let server = StaticIdentity.generate(SeededEntropy(seed: 1))
    static let agent = StaticIdentity.generate(SeededEntropy(seed: 2))
    static let payload = RegistrationPayload(
        uuid: "CAM-1", extra: Array("model=x".utf8), candidates: [SignalingSamples.v4, SignalingSamples.v6],
        nat: .endpointDependent(delta: 2), certificate: [1, 2, 3],
        rotation: KeyRotationData(
            oldPublicKey: [UInt8](repeating: 4, count: 32), proof: [UInt8](repeating: 5, count: 32)))

    static func initiator(
        serverKey: [UInt8] = server.publicKey, identity: StaticIdentity = agent,
        seed: UInt64 = 3
    ) throws -> SignalingRegistration.Initiator {
        try SignalingRegistration.Initiator(
            requestID: 7, role: .device, cookie: SignalingSamples.cookie, identity: identity,
            serverPublicKey: serverKey, payload: payload, entropy: SeededEntropy(seed: seed))
    }

    /// Both ends of a completed registration: (agent's channel, server's channel).
    static func channels(token: UInt64 = 0xABCD_0000_0000_1234) throws -> (SealedChannel, SealedChannel) {
        let initiator = try initiator()
        let responder = try SignalingRegistration.Responder(initiator.message, server: server)
        let (reply, serverChannel) = try responder.reply(
            requestID: 7, answer: RegisteredPayload(token: token, keepaliveSeconds: 20, observed: SignalingSamples.v4),
            entropy: SeededEntropy(seed: 4))
        guard case .registered(_, let ephemeral, let encrypted) = reply else {
            throw SignalingParseError.invalid("reply")
        }
        let (_, agentChannel) = try initiator.complete(ephemeral: ephemeral, encryptedPayload: encrypted)
        return (agentChannel, serverChannel)
    }

    @Test func registrationAuthenticatesTheAgentsStaticAndCarriesThePayload() throws {
        let initiator = try Self.initiator()
        // The wire carries neither the static key nor the UUID in clear.
        let bytes = SignalingSamples.bytes(.register(initiator.message))
        #expect(!containsBytes(bytes, Self.agent.publicKey))
        #expect(!containsBytes(bytes, Array("CAM-1".utf8)))
        let responder = try SignalingRegistration.Responder(try registerMessage(bytes), server: Self.server)
        #expect(responder.agentStatic == Self.agent.publicKey)
        #expect(responder.payload == Self.payload)
        let answer = RegisteredPayload(token: 99, keepaliveSeconds: 15, observed: SignalingSamples.v6)
        let (reply, _) = try responder.reply(requestID: 7, answer: answer, entropy: SeededEntropy(seed: 5))
        guard case .registered(7, let ephemeral, let encrypted) = reply else {
            Issue.record("no REGISTERED")
            return
        }
        let (opened, channel) = try initiator.complete(ephemeral: ephemeral, encryptedPayload: encrypted)
        #expect(opened == answer)
        #expect(channel.id == 99)
    }

    @Test func registerToAnotherServerKeyDoesNotOpen() throws {
        let other = StaticIdentity.generate(SeededEntropy(seed: 9))
        let initiator = try Self.initiator(serverKey: other.publicKey)
        #expect(throws: SignalingRegistration.Failure.wrongServerKey) {
            try SignalingRegistration.Responder(initiator.message, server: Self.server)
        }
    }

    @Test func theHeaderIsBoundIntoTheHandshake() throws {
        // Another cookie, request ID or role in clear: the REGISTER no longer opens.
        var message = try Self.initiator().message
        message.cookie[0] ^= 1
        #expect(throws: SignalingRegistration.Failure.self) {
            try SignalingRegistration.Responder(message, server: Self.server)
        }
        message = try Self.initiator().message
        message.requestID &+= 1
        #expect(throws: SignalingRegistration.Failure.self) {
            try SignalingRegistration.Responder(message, server: Self.server)
        }
        message = try Self.initiator().message
        message.role = .client
        #expect(throws: SignalingRegistration.Failure.self) {
            try SignalingRegistration.Responder(message, server: Self.server)
        }
        // A tampered payload fails authentication (the static opened, ss/payload did not).
        message = try Self.initiator().message
        message.encryptedPayload[3] ^= 0x80
        #expect(throws: SignalingRegistration.Failure.authenticationFailed) {
            try SignalingRegistration.Responder(message, server: Self.server)
        }
    }

    @Test func aRegisteredFromSomeoneElseDoesNotComplete() throws {
        let initiator = try Self.initiator()
        // An attacker who saw REGISTER answers with its own ephemeral: no server static key, no `se`.
        let attacker = StaticIdentity.generate(SeededEntropy(seed: 12))
        #expect(throws: SignalingRegistration.Failure.authenticationFailed) {
            try initiator.complete(ephemeral: attacker.publicKey, encryptedPayload: [UInt8](repeating: 0, count: 40))
        }
    }

    @Test func sealedMessagesOpenOnlyOnceInTheirDirection() throws {
        var (agent, server) = try Self.channels()
        let keepalive = SignalingMessage.keepalive(requestID: 1, token: agent.id, nat: .endpointIndependent)
        let sealed = agent.seal(keepalive)
        #expect(sealed.channel == agent.id && sealed.counter == 0)
        #expect(agent.seal(keepalive).counter == 1)
        #expect(try server.open(sealed) == keepalive)
        // Replayed: refused before decrypting.
        #expect(!server.isFresh(sealed.counter))
        #expect(throws: SealedChannel.OpenFailure.replayed) { try server.open(sealed) }
        // Reflected back to the agent: the other direction's key, no.
        var agentCopy = agent
        #expect(throws: SealedChannel.OpenFailure.authenticationFailed) { try agentCopy.open(sealed) }
        // Header bits (channel, counter) are authenticated.
        var moved = agent.seal(keepalive)
        moved.counter += 100
        #expect(throws: SealedChannel.OpenFailure.authenticationFailed) { try server.open(moved) }
        // The forgery burnt no counter: the genuine packet with that counter still opens.
        moved.counter -= 100
        #expect(try server.open(moved) == keepalive)
        // Out of order within the window is fine.
        let a = agent.seal(keepalive)
        let b = agent.seal(keepalive)
        #expect(try server.open(b) == keepalive)
        #expect(try server.open(a) == keepalive)
        // Server to agent.
        let ack = SignalingMessage.keepaliveAck(requestID: 1, observed: SignalingSamples.v4)
        #expect(try agent.open(server.seal(ack)) == ack)
    }

    @Test func onlyChannelMessagesTravelSealed() throws {
        var (agent, server) = try Self.channels()
        for message in SignalingSamples.messages where !message.isChannelMessage {
            #expect(throws: SealedChannel.OpenFailure.self, "\(message.type)") { try server.open(agent.seal(message)) }
        }
    }

    @Test func payloadsParseStrictly() throws {
        let bytes = Self.payload.encoded()
        #expect(try RegistrationPayload.parse(bytes) == Self.payload)
        #expect(throws: SignalingParseError.invalid("trailing bytes")) { try RegistrationPayload.parse(bytes + [0]) }
        for length in 0..<bytes.count {
            #expect(throws: SignalingParseError.self) { try RegistrationPayload.parse(Array(bytes[..<length])) }
        }
        let plain = RegistrationPayload(uuid: "X", extra: [], candidates: [])
        #expect(try RegistrationPayload.parse(plain.encoded()) == plain)
        #expect(throws: SignalingParseError.invalid("uuid")) {
            try RegistrationPayload.parse(RegistrationPayload(uuid: "has space", extra: [], candidates: []).encoded())
        }
        let answer = RegisteredPayload(token: 5, keepaliveSeconds: 20, observed: SignalingSamples.v6)
        #expect(try RegisteredPayload.parse(answer.encoded()) == answer)
        #expect(throws: SignalingParseError.self) {
            try RegisteredPayload.parse(answer.encoded().dropLast(1).map { $0 })
        }
    }

    @Test func svrkeyMustBeTheServersPublicKey() throws {
        let hex = Hex.encode(Self.server.publicKey)
        #expect(try ServerPublicKey.parse(hex) == Self.server.publicKey)
        #expect(try ServerPublicKey.parse(" \(hex.uppercased())\n") == Self.server.publicKey)
        #expect(try ServerPublicKey.parse(nil) == nil)
        #expect(try ServerPublicKey.parse("") == nil)
        for bad in ["secret", String(hex.dropLast()), hex + "00", String(hex.dropLast()) + "g"] {
            #expect(throws: ServerPublicKey.Invalid.self) { try ServerPublicKey.parse(bad) }
        }
        #expect(ServerPublicKey.requirement.contains("64 hex digits"))
    }

    private func registerMessage(_ bytes: [UInt8]) throws -> SignalingMessage.Register {
        guard case .register(let m) = try SignalingSamples.parse(bytes) else {
            throw SignalingParseError.invalid("not register")
        }
        return m
    }
}

func containsBytes(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
    guard !needle.isEmpty, needle.count <= haystack.count else { return false }
    return (0...(haystack.count - needle.count)).contains { Array(haystack[$0..<($0 + needle.count)]) == needle }
}

/// Seeded fuzzing of everything the channel parses from the network: REGISTER as the server
/// opens it, REGISTERED as the agent completes it, SEALED as either end opens it, and the
/// plaintext payloads. Typed errors only; what opens is what was sent.
@Suite struct FuzzSignalingChannelTests {
    static let iterations = 3_000

    @Test(arguments: [UInt64(0xC4A1_0001), 0xC4A1_0002])
    func mutatedChannelMessagesAreRefusedWithTypedErrors(seed: UInt64) throws {
        let mutator = Mutator(seed: seed)
        let initiator = try SignalingChannelTests.initiator()
        let register = SignalingSamples.bytes(.register(initiator.message))
        let responder = try SignalingRegistration.Responder(initiator.message, server: SignalingChannelTests.server)
        let (reply, _) = try responder.reply(
            requestID: 7, answer: RegisteredPayload(token: 1, keepaliveSeconds: 20, observed: SignalingSamples.v4),
            entropy: SeededEntropy(seed: 4))
        let registered = SignalingSamples.bytes(reply)
        var (agent, server) = try SignalingChannelTests.channels(token: 1)
        let sealed = (0..<8).map { _ in
            SignalingSamples.bytes(.sealed(agent.seal(.query(requestID: 1, token: 1, uuid: "CAM-1"))))
        }
        var opened = 0
        for _ in 0..<Self.iterations {
            let input = mutator.mutate(mutator.element(of: [register, registered] + sealed))
            guard let message = try? SignalingSamples.parse(input) else { continue }
            switch message {
            case .register(let m):
                if let r = try? SignalingRegistration.Responder(m, server: SignalingChannelTests.server) {
                    // Only an unchanged REGISTER (a mutation that cancelled out) opens.
                    #expect(SignalingSamples.bytes(.register(m)) == register)
                    #expect(r.payload == SignalingChannelTests.payload)
                    opened += 1
                }
            case .registered(_, let ephemeral, let encrypted):
                if (try? initiator.complete(ephemeral: ephemeral, encryptedPayload: encrypted)) != nil {
                    // The request ID is outside the handshake (the agent matches it); the rest is not.
                    #expect(Array(input.dropFirst(5)) == Array(registered.dropFirst(5)))
                    opened += 1
                }
            case .sealed(let s):
                if let inner = try? server.open(s) {
                    #expect(inner == .query(requestID: 1, token: 1, uuid: "CAM-1"))
                    opened += 1
                }
            default:
                break
            }
        }
        #expect(opened < Self.iterations / 2)
    }

    @Test(arguments: [UInt64(0xC4A1_0003)])
    func mutatedPayloadsNeverCrashAndRoundTrip(seed: UInt64) throws {
        let mutator = Mutator(seed: seed)
        let corpus = [
            SignalingChannelTests.payload.encoded(),
            RegistrationPayload(uuid: "A", extra: [], candidates: []).encoded(),
            RegisteredPayload(token: 3, keepaliveSeconds: 1, observed: SignalingSamples.v6).encoded(),
        ]
        for _ in 0..<20_000 {
            let input = mutator.mutate(mutator.element(of: corpus), donor: mutator.element(of: corpus))
            if let payload = try? RegistrationPayload.parse(input) {
                #expect(try RegistrationPayload.parse(payload.encoded()) == payload)
                #expect(DeviceUUID.isValid(payload.uuid))
            }
            if let answer = try? RegisteredPayload.parse(input) {
                #expect(try RegisteredPayload.parse(answer.encoded()) == answer)
            }
        }
    }
}
