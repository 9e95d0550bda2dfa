// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import Testing

@testable import T2UCore

@Suite struct TransportEndpointTests {
    /// A flood of distinct initiations from one source that never proves its address (v2: no
    /// mac2) gets half the handshake rate; the rest are answered with cookies. Repeats of an
    /// initiation already answered are not refused.
    @Test func handshakeFloodIsRateLimited() {
        let entropy = SeededEntropy(seed: 77)
        let device = StaticIdentity.generate(entropy)
        var options = TransportEndpoint.Options(config: TransportConfig(), identity: device, acceptIncoming: true)
        options.handshakesPerSecond = 10
        let responder = TransportEndpoint(options: options, entropy: entropy)
        let source = NetAddress(ipv4: (198, 51, 100, 7), port: 1000)
        var buffer = ByteBufferAllocator().buffer(capacity: 2048)
        var first: ByteBuffer?
        for index in 0..<50 {
            let initiator = TransportEndpoint(
                options: .init(config: TransportConfig(), identity: .generate(entropy), acceptIncoming: false),
                entropy: entropy)
            _ = initiator.connect(to: source, remoteStaticKey: device.publicKey, password: nil, now: .zero)
            guard initiator.pollTransmit(now: .zero, into: &buffer) != nil else {
                Issue.record("initiator \(index) sent nothing")
                return
            }
            if first == nil { first = buffer }
            responder.receive(buffer, from: source, now: .zero)
        }
        #expect(responder.connections.count == 5)
        #expect(responder.cookieRepliesSent == 45)
        #expect(responder.handshakesRateLimited == 0)
        // The first initiation again: its connection answers, no new token needed.
        #expect(responder.receive(first!, from: source, now: .zero) != nil)
        // A second later the bucket has refilled.
        let later = Instant.zero + .seconds(1)
        let initiator = TransportEndpoint(
            options: .init(config: TransportConfig(), identity: .generate(entropy), acceptIncoming: false),
            entropy: entropy)
        _ = initiator.connect(to: source, remoteStaticKey: device.publicKey, password: nil, now: later)
        _ = initiator.pollTransmit(now: later, into: &buffer)
        #expect(responder.receive(buffer, from: source, now: later) != nil)
        #expect(responder.connections.count == 6)
    }
}
