// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import T2UCore
import Testing

@Suite struct SignalingFailoverTests {
    static let first = NetAddress(ipv4: (192, 0, 2, 1), port: 7000)
    static let second = NetAddress(ipv4: (192, 0, 2, 2), port: 7100)

    /// Where the client sends, and when, with nobody answering.
    static func destinations(_ client: SignalingClient, span: Nanos) -> [(Instant, NetAddress)] {
        var sent: [(Instant, NetAddress)] = []
        var now = Instant.zero
        while now < Instant.zero + span {
            var buffer = ByteBuffer()
            while let destination = client.pollTransmit(now: now, into: &buffer) { sent.append((now, destination)) }
            guard let deadline = client.nextDeadline() else { break }
            now = max(now, deadline)
            client.handleTimeout(now: now)
        }
        return sent
    }

    /// A silent server: after `failoverAfterSends` HELLOs the next server of the list, then the
    /// first again (the list is a ring); each one's observation port follows.
    @Test func silentServerMovesRegistrationToTheNextOne() throws {
        var config = SignalingClientConfig(
            role: .device, uuid: "d", server: Self.first,
            observationServer: NetAddress(ipv4: (192, 0, 2, 1), port: 7001))
        config.fallbackServers = [Self.second]
        let client = try SignalingClient(config: config, entropy: SeededEntropy(seed: 3), now: .zero)
        let sent = Self.destinations(client, span: .seconds(8))
        let order = sent.map(\.1)
        #expect(Array(order.prefix(3)) == [Self.first, Self.first, Self.first])
        #expect(Array(order.dropFirst(3).prefix(3)) == [Self.second, Self.second, Self.second], "\(sent)")
        #expect(sent[3].0 == Instant.zero + .milliseconds(3500), "failover after 3 unanswered sends (3.5 s)")
        #expect(order.dropFirst(6).first == Self.first)
        #expect(client.failovers == 2)

        // The moved client accepts the new server's answers and ignores the old one's.
        let moved = try SignalingClient(config: config, entropy: SeededEntropy(seed: 3), now: .zero)
        _ = Self.destinations(moved, span: .seconds(4))
        #expect(moved.config.server == Self.second)
        #expect(moved.config.observationServer == NetAddress(ipv4: (192, 0, 2, 2), port: 7101))
    }

    @Test func withoutFallbacksTheServerNeverChanges() throws {
        let client = try SignalingClient(
            config: SignalingClientConfig(role: .client, uuid: "c", server: Self.first),
            entropy: SeededEntropy(seed: 4), now: .zero)
        #expect(Self.destinations(client, span: .seconds(30)).allSatisfy { $0.1 == Self.first })
        #expect(client.failovers == 0)
    }
}
