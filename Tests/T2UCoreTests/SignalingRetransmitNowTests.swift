// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import Testing

@testable import T2UCore

/// When the shell moves server traffic to another way (UDP <-> TCP fallback), the HELLO waiting
/// for an answer goes again at once instead of after its backoff.
@Suite struct SignalingRetransmitNowTests {
    @Test func pendingHelloIsSentAgainAtOnce() throws {
        let server = NetAddress(ipv4: (203, 0, 113, 10), port: 7000)
        let client = try SignalingClient(
            config: SignalingClientConfig(
                role: .client, uuid: "c", identity: StaticIdentity.generate(SeededEntropy(seed: 1)), server: server),
            entropy: SeededEntropy(seed: 3), now: .zero)
        var buffer = ByteBuffer()
        #expect(client.pollTransmit(now: .zero, into: &buffer) == server)
        guard case .hello(let first, _) = try SignalingMessage.parse(buffer) else {
            Issue.record("no HELLO")
            return
        }
        let soon = Instant.zero + .milliseconds(10)
        #expect(client.pollTransmit(now: soon, into: &buffer) == nil, "backing off")
        #expect(try #require(client.nextDeadline()) > soon)
        client.retransmitNow(now: soon)
        #expect(client.nextDeadline() == soon)
        #expect(client.pollTransmit(now: soon, into: &buffer) == server)
        guard case .hello(let again, _) = try SignalingMessage.parse(buffer) else {
            Issue.record("no HELLO")
            return
        }
        #expect(again == first, "the same exchange, sent again")
    }
}
