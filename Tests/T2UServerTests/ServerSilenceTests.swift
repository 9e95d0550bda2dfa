// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import T2UCore
import Testing

/// A server that never answers is named as such (address, tries, seconds, what to check) instead
/// of surfacing later as a failed P2P link, and the report repeats ever more rarely.
@Suite struct ServerSilenceTests {
    static let server = NetAddress(ipv4: (192, 0, 2, 1), port: 7999)

    /// Drives `client` with nobody answering; returns the silence events with their times.
    static func silences(_ client: SignalingClient, span: Nanos) -> [(Instant, ServerSilence)] {
        var reported: [(Instant, ServerSilence)] = []
        var now = Instant.zero
        while now < Instant.zero + span {
            var buffer = ByteBuffer()
            while client.pollTransmit(now: now, into: &buffer) != nil {}
            while let event = client.pollEvent() {
                if case .serverSilent(let silence) = event { reported.append((now, silence)) }
            }
            guard let deadline = client.nextDeadline() else { break }
            now = max(now, deadline)
            client.handleTimeout(now: now)
        }
        return reported
    }

    @Test func silentServerIsReportedAfterThreeTriesThenAtDoublingCounts() throws {
        let client = try SignalingClient(
            config: SignalingClientConfig(role: .device, uuid: "d", server: Self.server),
            entropy: SeededEntropy(seed: 1), now: .zero)
        let reported = Self.silences(client, span: .seconds(120))
        #expect(reported.map(\.1.tries) == [3, 6, 12], "\(reported)")
        let first = try #require(reported.first)
        #expect(first.0 == Instant.zero + .milliseconds(3500), "before the 4th HELLO")
        #expect(
            first.1.description
                == "no answer from server 192.0.2.1:7999 (3 tries in 3.5 s): check the address/port and that UDP is allowed"
        )
        #expect(client.silence(now: Instant.zero + .seconds(120))?.server == Self.server)
    }

    @Test func anAnswerEndsTheSilence() throws {
        let client = try SignalingClient(
            config: SignalingClientConfig(role: .client, uuid: "c", server: Self.server),
            entropy: SeededEntropy(seed: 2), now: .zero)
        var buffer = ByteBuffer()
        #expect(client.pollTransmit(now: .zero, into: &buffer) == Self.server)
        #expect(client.silence(now: .zero + .seconds(1))?.tries == 1)
        // Any datagram from the server that parses (here an error answer) shows it is reachable.
        var answer = ByteBuffer()
        SignalingMessage.error(requestID: 0, code: .capacity).write(into: &answer)
        client.receive(answer, from: Self.server, now: .zero + .seconds(1))
        #expect(client.silence(now: .zero + .seconds(2)) == nil)
        #expect(Self.silences(client, span: .seconds(30)).isEmpty)
    }

    @Test func wordsForOneTryAndRounding() {
        let silence = ServerSilence(
            server: NetAddress(ipv4: (203, 0, 113, 5), port: 17000), tries: 1, elapsed: .milliseconds(49))
        #expect(
            silence.description
                == "no answer from server 203.0.113.5:17000 (1 try in 0.0 s): check the address/port and that UDP is allowed"
        )
        #expect(ServerSilence(server: Self.server, tries: 12, elapsed: .milliseconds(71_550)).seconds == "71.6")
    }
}
