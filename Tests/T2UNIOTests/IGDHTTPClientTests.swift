// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import NIOEmbedded
import T2UCore
import Testing

@testable import T2UNIO

/// What an IGD answers (untrusted: any host on the LAN can claim to be one) reaches the mapper
/// through `IGDHTTPClient.ResponseCollector`, back to back in an `EmbeddedChannel` here: all of
/// it when the IGD closes, a failure beyond the size bound or on an error, and only one verdict.
@Suite struct IGDHTTPClientTests {
    static let limit = 100

    static func channel() throws -> (EmbeddedChannel, EventLoopFuture<[UInt8]>) {
        let channel = EmbeddedChannel()
        let promise = channel.embeddedEventLoop.makePromise(of: [UInt8].self)
        try channel.pipeline.syncOperations.addHandler(
            IGDHTTPClient.ResponseCollector(promise: promise, limit: limit))
        try channel.connect(to: SocketAddress(ipAddress: "192.0.2.1", port: 5000)).wait()
        return (channel, promise.futureResult)
    }

    /// The future's result if it has one (never blocks: `wait()` on an embedded loop would).
    static func result(_ future: EventLoopFuture<[UInt8]>) -> Result<[UInt8], Error>? {
        var result: Result<[UInt8], Error>?
        future.assumeIsolated().whenComplete { result = $0 }
        return result
    }

    static func failure(_ future: EventLoopFuture<[UInt8]>) -> GatewayHTTPFailure? {
        guard case .failure(let error) = result(future) else { return nil }
        return error as? GatewayHTTPFailure
    }

    @Test func theWholeAnswerOnceTheIGDCloses() throws {
        let (channel, answer) = try Self.channel()
        try channel.writeInbound(ByteBuffer(string: "HTTP/1.1 200 OK\r\n"))
        try channel.writeInbound(ByteBuffer(string: "Content-Length: 2\r\n\r\nok"))
        #expect(Self.result(answer) == nil, "not before the close: the body may run to it")
        try channel.close().wait()
        let bytes = try #require(try Self.result(answer)?.get())
        #expect(String(decoding: bytes, as: UTF8.self) == "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    }

    @Test func anEmptyAnswerIsEmpty() throws {
        let (channel, answer) = try Self.channel()
        try channel.close().wait()
        #expect(try Self.result(answer)?.get() == [])
    }

    /// Exactly the limit is accepted; one byte more fails the exchange and closes at once.
    @Test func oneByteOverTheLimitFailsAndCloses() throws {
        let (channel, answer) = try Self.channel()
        try channel.writeInbound(ByteBuffer(repeating: 0x41, count: Self.limit))
        #expect(channel.isActive)
        try channel.writeInbound(ByteBuffer(bytes: [0x41]))
        #expect(!channel.isActive)
        #expect(Self.failure(answer) == GatewayHTTPFailure("answer larger than \(Self.limit) bytes"))
    }

    @Test func aHugeSingleReadFailsWithoutBeingKept() throws {
        let (channel, answer) = try Self.channel()
        try channel.writeInbound(ByteBuffer(repeating: 0x41, count: 1 << 20))
        #expect(!channel.isActive)
        #expect(Self.failure(answer) != nil)
    }

    @Test func anErrorFailsAndCloses() throws {
        struct Reset: Error, CustomStringConvertible {
            var description: String { "connection reset" }
        }
        let (channel, answer) = try Self.channel()
        try channel.writeInbound(ByteBuffer(string: "HTTP/1.1 200"))
        channel.pipeline.fireErrorCaught(Reset())
        #expect(!channel.isActive)
        #expect(Self.failure(answer) == GatewayHTTPFailure("connection reset"), "not the partial answer")
    }
}
