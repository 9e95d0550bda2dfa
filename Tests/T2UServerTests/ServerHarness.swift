// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import T2UCore

@testable import T2UServer

/// Drives a `ServerCore` on a virtual clock with raw datagrams and collects what it sends. It also
/// plays the agents: it registers them with the IK handshake (one static key per UUID, from the
/// seeded entropy), seals their channel messages and opens the server's sealed replies.
final class ServerHarness {
    struct Output {
        var bytes: [UInt8]
        var transmit: ServerTransmit
        /// The message as parsed, or the one inside when it came sealed in one of our channels.
        var message: SignalingMessage?
        var sealed: Bool
    }

    var now = Instant(nanoseconds: 1_000_000_000_000)
    let core: ServerCore
    let entropy = SeededEntropy(seed: 42)
    /// Agents' static keys by UUID, and their ends of the channels by channel ID (= token).
    var identities: [String: StaticIdentity] = [:]
    var channels: [UInt64: SealedChannel] = [:]
    /// What the last successful `register` was told.
    var lastAnswer: RegisteredPayload?

    static let serverIdentity = try! StaticIdentity(rawPrivateKey: [UInt8](repeating: 0x5E, count: 32))

    init(
        config: ServerConfig = ServerConfig(identity: ServerHarness.serverIdentity),
        registry: Registry = InMemoryRegistry(),
        bindings: DeviceBindings = FirstKeyBindings()
    ) {
        core = ServerCore(config: config, registry: registry, bindings: bindings, entropy: entropy, now: now)
    }

    var serverPublicKey: [UInt8] { core.config.identity.publicKey }

    func identity(_ uuid: String) -> StaticIdentity {
        if let identity = identities[uuid] { return identity }
        let identity = StaticIdentity.generate(entropy)
        identities[uuid] = identity
        return identity
    }

    @discardableResult
    func sendRaw(_ bytes: [UInt8], from source: NetAddress, on socket: ServerSocket = .main) -> [Output] {
        core.receive(ByteBuffer(bytes: bytes), from: source, on: socket, now: now)
        return drain()
    }

    /// Sends `message`, sealed in its token's channel when it is a channel message of one of our agents.
    @discardableResult
    func send(_ message: SignalingMessage, from source: NetAddress, on socket: ServerSocket = .main) -> [Output] {
        sendRaw(sealedBytes(message) ?? ServerSamples.bytes(message), from: source, on: socket)
    }

    /// The SEALED datagram for `message` in its token's channel (nil: not ours to seal).
    func sealedBytes(_ message: SignalingMessage) -> [UInt8]? {
        guard message.isChannelMessage, let token = ServerCore.token(of: message), channels[token] != nil else {
            return nil
        }
        return ServerSamples.bytes(.sealed(channels[token]!.seal(message)))
    }

    /// Sends `message` in clear even when it could be sealed (what a token thief or a v1 agent does).
    @discardableResult
    func sendBare(_ message: SignalingMessage, from source: NetAddress) -> [Output] {
        sendRaw(ServerSamples.bytes(message), from: source)
    }

    /// The single reply to `message`, parsed (opened when sealed).
    func request(_ message: SignalingMessage, from source: NetAddress) -> SignalingMessage? {
        let out = send(message, from: source)
        guard out.count == 1, out[0].transmit.destination == source else { return nil }
        return out[0].message
    }

    @discardableResult
    func advance(by delta: Nanos) -> [Output] {
        let end = now + delta
        var out: [Output] = []
        while true {
            let deadline = core.nextDeadline() ?? .distantFuture
            if deadline > end { break }
            now = max(now, deadline)
            core.handleTimeout(now: now)
            out += drain()
        }
        now = end
        return out
    }

    func drain() -> [Output] {
        var out: [Output] = []
        while true {
            var buffer = ByteBuffer()
            guard let transmit = core.pollTransmit(now: now, into: &buffer) else { return out }
            var message = try? SignalingMessage.parse(buffer)
            var sealed = false
            if case .sealed(let envelope)? = message, channels[envelope.channel] != nil {
                message = try? channels[envelope.channel]!.open(envelope)
                sealed = true
            }
            out.append(
                Output(bytes: Array(buffer.readableBytesView), transmit: transmit, message: message, sealed: sealed))
        }
    }

    func cookie(for source: NetAddress, role: SignalingRole = .device) -> [UInt8]? {
        guard case .challenge(_, let cookie, _)? = request(.hello(requestID: 1, role: role), from: source) else {
            return nil
        }
        return cookie
    }

    /// The REGISTER an agent with `identity` sends (IK to `serverKey`, default the server's own).
    func registration(
        _ role: SignalingRole, uuid: String, cookie: [UInt8], identity: StaticIdentity, serverKey: [UInt8]? = nil,
        extra: [UInt8] = [], candidates: [NetAddress] = [], certificate: [UInt8]? = nil,
        rotation: KeyRotationData? = nil, requestID: UInt32 = 2
    ) -> SignalingRegistration.Initiator {
        try! SignalingRegistration.Initiator(
            requestID: requestID, role: role, cookie: cookie, identity: identity,
            serverPublicKey: serverKey ?? serverPublicKey,
            payload: RegistrationPayload(
                uuid: uuid, extra: extra, candidates: candidates, certificate: certificate, rotation: rotation),
            entropy: entropy)
    }

    /// HELLO + REGISTER; returns the REGISTER's reply, and keeps the channel when registered.
    func register(
        _ role: SignalingRole, uuid: String, from source: NetAddress, identity: StaticIdentity? = nil,
        serverKey: [UInt8]? = nil, extra: [UInt8] = [], candidates: [NetAddress] = []
    ) -> SignalingMessage? {
        guard let cookie = cookie(for: source, role: role) else { return nil }
        let initiator = registration(
            role, uuid: uuid, cookie: cookie, identity: identity ?? self.identity(uuid), serverKey: serverKey,
            extra: extra, candidates: candidates)
        let reply = request(.register(initiator.message), from: source)
        if case .registered(_, let ephemeral, let encrypted)? = reply,
            let completed = try? initiator.complete(ephemeral: ephemeral, encryptedPayload: encrypted)
        {
            channels[completed.0.token] = completed.1
            lastAnswer = completed.0
        }
        return reply
    }

    /// Registers and returns the session token (nil on failure).
    func token(
        _ role: SignalingRole, uuid: String, from source: NetAddress, identity: StaticIdentity? = nil,
        extra: [UInt8] = [],
        candidates: [NetAddress] = []
    ) -> UInt64? {
        lastAnswer = nil
        guard
            case .registered? = register(
                role, uuid: uuid, from: source, identity: identity, extra: extra, candidates: candidates)
        else { return nil }
        return lastAnswer?.token
    }
}

enum Addr {
    static let device = NetAddress(ipv4: (198, 51, 100, 10), port: 50_000)
    static let deviceLAN = NetAddress(ipv4: (192, 168, 1, 20), port: 50_000)
    static let client = NetAddress(ipv4: (203, 0, 113, 5), port: 61_000)
    static let stranger = NetAddress(ipv4: (192, 0, 2, 99), port: 1234)
}

/// Transport packet shapes the relay routes (only the clear header matters to it).
enum TransportBytes {
    static func initiation(initiatorCID: UInt64, payload: Int = 100) -> [UInt8] {
        var b = ByteBuffer()
        b.writeMultipleIntegers(UInt8(0x01), initiatorCID)
        b.writeRepeatingByte(0x11, count: payload)
        return Array(b.readableBytesView)
    }

    static func response(initiatorCID: UInt64, responderCID: UInt64, payload: Int = 60) -> [UInt8] {
        var b = ByteBuffer()
        b.writeMultipleIntegers(UInt8(0x02), initiatorCID, responderCID)
        b.writeRepeatingByte(0x22, count: payload)
        return Array(b.readableBytesView)
    }

    static func data(destinationCID: UInt64, packetNumber: UInt64 = 1, payload: Int = 200) -> [UInt8] {
        var b = ByteBuffer()
        b.writeMultipleIntegers(UInt8(0x04), UInt8(0), destinationCID, packetNumber)
        b.writeRepeatingByte(0x44, count: payload)
        return Array(b.readableBytesView)
    }
}

/// Valid request shapes and a small seeded mutator for the server's abuse tests (the core's
/// fuller `Mutator` lives in T2UCoreTests, which this target cannot import).
enum ServerSamples {
    static let key = [UInt8](repeating: 0xAB, count: 32)
    static let cookie = [UInt8](repeating: 3, count: SignalingLimits.cookieLength)

    static func requests(token: UInt64) -> [[UInt8]] {
        let messages: [SignalingMessage] = [
            .hello(requestID: 1, role: .device),
            .probe(requestID: 2),
            .keepalive(requestID: 3, token: token),
            .keepalive(requestID: 3, token: 12345),
            .query(requestID: 4, token: token, uuid: "CAM-1"),
            .connect(
                .init(
                    requestID: 5, token: token, uuid: "CAM-1", clientConnectionID: ConnectionID(rawValue: 5),
                    candidates: [])),
            .register(
                .init(
                    requestID: 6, role: .device, cookie: cookie, ephemeral: key,
                    encryptedStatic: [UInt8](repeating: 2, count: 48),
                    encryptedPayload: [UInt8](repeating: 1, count: 300))),
            .sealed(.init(channel: token, counter: 0, ciphertext: [UInt8](repeating: 4, count: 40))),
            .introduceAck(requestID: 7, token: token, sessionID: 1),
            .search(requestID: 8, uuid: nil),
            .pathReport(requestID: 9, token: token, sessionID: 1, path: .direct),
        ]
        return messages.map(bytes)
    }

    static func bytes(_ message: SignalingMessage) -> [UInt8] {
        var buffer = ByteBuffer()
        message.write(into: &buffer)
        return Array(buffer.readableBytesView)
    }

    static func mutate(_ input: [UInt8], _ entropy: SeededEntropy) -> [UInt8] {
        var bytes = input
        for _ in 0...entropy.next(below: 3) {
            let count = UInt64(bytes.count)
            switch entropy.next(below: 4) {
            case 0 where count > 0: bytes[Int(entropy.next(below: count))] ^= 1 << UInt8(entropy.next(below: 8))
            case 1 where count > 0: bytes.removeLast(Int(entropy.next(below: count + 1)))
            case 2 where count > 0:
                bytes[Int(entropy.next(below: count))] = UInt8(truncatingIfNeeded: entropy.nextUInt64())
            default: bytes += entropy.bytes(Int(entropy.next(below: 16)))
            }
        }
        return bytes
    }
}
