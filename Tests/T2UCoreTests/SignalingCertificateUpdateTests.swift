// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import Testing

@testable import T2UCore

/// `SignalingClient.update(certificate:)` (t2usvr's SIGHUP of --cert): no registration is forced,
/// the next REGISTER carries the new certificate, one that does not fit is refused.
@Suite struct SignalingCertificateUpdateTests {
    static let serverIdentity = StaticIdentity.generate(SeededEntropy(seed: 41))
    static let server = NetAddress(ipv4: (203, 0, 113, 10), port: 7000)

    /// Answers HELLO with CHALLENGE and returns the certificate of the REGISTER that follows,
    /// then completes the registration.
    static func register(_ client: SignalingClient, now: Instant, token: UInt64) throws -> [UInt8]? {
        var buffer = ByteBuffer()
        #expect(client.pollTransmit(now: now, into: &buffer) == server)
        guard case .hello(let helloID, _) = try SignalingMessage.parse(buffer) else {
            Issue.record("no HELLO")
            return nil
        }
        buffer.clear()
        SignalingMessage.challenge(
            requestID: helloID, cookie: SignalingSamples.cookie, serverPublicKey: serverIdentity.publicKey
        ).write(into: &buffer)
        client.receive(buffer, from: server, now: now)
        buffer.clear()
        #expect(client.pollTransmit(now: now, into: &buffer) == server)
        guard case .register(let register) = try SignalingMessage.parse(buffer) else {
            Issue.record("no REGISTER")
            return nil
        }
        let responder = try SignalingRegistration.Responder(register, server: serverIdentity)
        let (reply, _) = try responder.reply(
            requestID: register.requestID,
            answer: RegisteredPayload(token: token, keepaliveSeconds: 20, observed: SignalingSamples.v4),
            entropy: SeededEntropy(seed: token))
        buffer.clear()
        reply.write(into: &buffer)
        client.receive(buffer, from: server, now: now)
        #expect(client.status == .registered)
        return responder.payload.certificate
    }

    @Test func theNextRegistrationCarriesTheNewCertificate() throws {
        let first: [UInt8] = Array(repeating: 1, count: DeviceCertificate.length)
        let second: [UInt8] = Array(repeating: 2, count: DeviceCertificate.length)
        var config = SignalingClientConfig(
            role: .device, uuid: "CAM-1", identity: StaticIdentity.generate(SeededEntropy(seed: 42)),
            serverPublicKey: Self.serverIdentity.publicKey, server: Self.server)
        config.certificate = first
        let client = try SignalingClient(config: config, entropy: SeededEntropy(seed: 43), now: .zero)
        #expect(try Self.register(client, now: .zero, token: 1) == first)

        try client.update(certificate: second)
        #expect(client.config.certificate == second)
        var buffer = ByteBuffer()
        #expect(client.pollTransmit(now: .zero, into: &buffer) == nil, "no registration forced")
        #expect(client.status == .registered)

        // Refused whole: the running certificate stays.
        #expect(throws: SignalingClientConfig.Invalid.certificateTooLong) {
            try client.update(certificate: Array(repeating: 3, count: SignalingLimits.maxCertificateLength + 1))
        }
        #expect(throws: SignalingClientConfig.Invalid.certificateTooLong) { try client.update(certificate: []) }
        #expect(client.config.certificate == second)

        // The next registration (here: new candidates) carries the new one.
        let later = Instant.zero + .seconds(1)
        client.update(extra: [], candidates: [SignalingSamples.v4], now: later)
        #expect(try Self.register(client, now: later, token: 2) == second)
    }
}
