// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import NIOEmbedded
import T2UCore
import Testing

@testable import T2UNIO

/// `t2u netcheck`'s look at a server's TCP fallback (`UpgradeProbeHandler`, the part above TLS)
/// back to back in an `EmbeddedChannel`: the request out, one verdict for whatever comes back.
@Suite struct UpgradeProbeHandlerTests {
    static func channel() throws -> (EmbeddedChannel, EventLoopFuture<ServerStreamProbe.Outcome>) {
        let channel = EmbeddedChannel()
        let promise = channel.embeddedEventLoop.makePromise(of: ServerStreamProbe.Outcome.self)
        try channel.pipeline.syncOperations.addHandler(
            UpgradeProbeHandler(host: "t2u.example", started: .now, promise: promise))
        try channel.connect(to: SocketAddress(ipAddress: "203.0.113.5", port: 443)).wait()
        return (channel, promise.futureResult)
    }

    /// The verdict if there is one (never blocks: `wait()` on an embedded loop would).
    static func outcome(_ future: EventLoopFuture<ServerStreamProbe.Outcome>) -> ServerStreamProbe.Outcome? {
        var outcome: ServerStreamProbe.Outcome?
        future.assumeIsolated().whenSuccess { outcome = $0 }
        return outcome
    }

    static func failure(_ future: EventLoopFuture<ServerStreamProbe.Outcome>) -> String? {
        guard case .failed(let why)? = outcome(future) else { return nil }
        return why
    }

    @Test func sendsTheUpgradeAndReportsThe101() throws {
        let (channel, outcome) = try Self.channel()
        let request = try #require(try channel.readOutbound(as: ByteBuffer.self))
        #expect(Array(request.readableBytesView) == StreamUpgrade.request(host: "t2u.example"))
        // In two pieces: no verdict on half a head.
        let answer = StreamUpgrade.switchingProtocols
        try channel.writeInbound(ByteBuffer(bytes: answer.prefix(10)))
        #expect(Self.outcome(outcome) == nil)
        try channel.writeInbound(ByteBuffer(bytes: answer.dropFirst(10)))
        let upgraded = { if case .upgraded? = Self.outcome(outcome) { true } else { false } }
        #expect(upgraded(), "\(String(describing: Self.outcome(outcome)))")
        // The close that follows keeps the first verdict.
        try channel.close().wait()
        #expect(upgraded())
    }

    @Test func anotherAnswerIsNotAnUpgrade() throws {
        let (channel, outcome) = try Self.channel()
        try channel.writeInbound(ByteBuffer(bytes: StreamUpgrade.notFound))
        let why = try #require(Self.failure(outcome))
        #expect(why.hasPrefix("not a t2u upgrade answer"), "\(why)")
        #expect(why.contains("404"))
    }

    /// Control characters in a hostile answer never reach the report.
    @Test func aHostileAnswerIsReportedPrintably() throws {
        let (channel, outcome) = try Self.channel()
        try channel.writeInbound(ByteBuffer(string: "HTTP/1.1 200 \u{1B}[31mOK\u{7}\r\n\r\n"))
        let why = try #require(Self.failure(outcome))
        #expect(!why.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F }, "\(why)")
    }

    @Test func anEndlessHeadIsNotAnUpgrade() throws {
        let (channel, outcome) = try Self.channel()
        try channel.writeInbound(ByteBuffer(repeating: UInt8(ascii: "a"), count: StreamUpgrade.maxHeadLength + 1))
        #expect(Self.failure(outcome)?.hasPrefix("not a t2u upgrade answer") == true)
    }

    @Test func closedBeforeTheAnswer() throws {
        let (channel, outcome) = try Self.channel()
        try channel.writeInbound(ByteBuffer(string: "HTTP/1.1 101"))
        try channel.close().wait()
        #expect(Self.failure(outcome) == "closed before the upgrade answer")
    }

    @Test func anErrorIsReportedAndCloses() throws {
        struct HandshakeFailed: Error, CustomStringConvertible {
            var description: String { "handshake failed" }
        }
        let (channel, outcome) = try Self.channel()
        channel.pipeline.fireErrorCaught(HandshakeFailed())
        #expect(Self.failure(outcome) == "TLS or TCP: handshake failed")
        #expect(!channel.isActive)
    }
}
