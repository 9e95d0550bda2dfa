// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import NIOEmbedded
import T2UCore
import Testing

@testable import T2UServer

/// The admin endpoint's pipeline (`AdminRequestLimit`, the HTTP codec, `AdminHTTPHandler`) back to
/// back in an `EmbeddedChannel`: requests in as bytes, answers out as bytes, the connection
/// deadline on virtual time.
@Suite struct AdminHTTPHandlerTests {
    /// A connected channel whose routes answer 200 with the request as they saw it, so a test
    /// can check the parsing from the bytes that come out.
    static func channel(
        respond: (@Sendable (AdminRequest, EventLoop) -> EventLoopFuture<AdminResponse>)? = nil
    ) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        let loop = channel.embeddedEventLoop
        try channel.pipeline.syncOperations.addHandler(ClosedSocketRefusesWrites())
        try AdminServer.addHandlers(to: channel.pipeline.syncOperations) { request in
            if let respond { return respond(request, loop) }
            let query = request.query.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
            let echo = "\(request.method) \(request.path) \(query) \(request.authorization ?? "-")"
            return loop.makeSucceededFuture(.text(.ok, echo))
        }
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9000)).wait()
        return channel
    }

    /// An `EmbeddedChannel` takes writes even once closed; a socket channel fails them
    /// (`ioOnClosedChannel`), and nothing reaches the peer. Next to the head, this makes the
    /// embedded one do the same: the decoder's error at EOF answers 400 into a closed channel.
    final class ClosedSocketRefusesWrites: ChannelOutboundHandler {
        typealias OutboundIn = IOData

        func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
            guard context.channel.isActive else {
                promise?.fail(ChannelError.ioOnClosedChannel)
                return
            }
            context.write(data, promise: promise)
        }
    }

    /// Everything written so far, as text.
    static func output(_ channel: EmbeddedChannel) throws -> String {
        var text = ""
        while let part = try channel.readOutbound(as: IOData.self) {
            guard case .byteBuffer(let buffer) = part else {
                Issue.record("file region on the admin port")
                continue
            }
            text += String(buffer: buffer)
        }
        return text
    }

    static func bytes(_ text: String) -> ByteBuffer { ByteBuffer(string: text) }

    @Test func aRequestIsParsedAnsweredAndTheConnectionClosed() throws {
        let channel = try Self.channel()
        try channel.writeInbound(
            Self.bytes("GET /status?b=%41%20z&a=1&b=last HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t0k\r\n\r\n"))
        let body = "GET /status [\"a=1\", \"b=last\"] Bearer t0k"
        let answer = try Self.output(channel)
        #expect(answer.hasPrefix("HTTP/1.1 200 OK\r\n"), "\(answer)")
        #expect(answer.contains("Content-Type: text/plain; charset=utf-8\r\n"))
        #expect(answer.contains("Content-Length: \(body.utf8.count)\r\n"))
        #expect(answer.contains("Connection: close\r\n"))
        #expect(answer.hasSuffix("\r\n\r\n\(body)"), "\(answer)")
        #expect(!channel.isActive, "one request per connection")
    }

    @Test func percentEncodingIsDecodedInTheQuery() throws {
        let channel = try Self.channel()
        try channel.writeInbound(Self.bytes("GET /bindings?uuid=cam%2D1%20x HTTP/1.1\r\n\r\n"))
        #expect(try Self.output(channel).hasSuffix("GET /bindings [\"uuid=cam-1 x\"] -"))
    }

    @Test func aRequestInPiecesIsAnsweredOnceComplete() throws {
        let channel = try Self.channel()
        for byte in "GET /metrics HTTP/1.1\r\nHost: x\r\n\r".utf8 {
            try channel.writeInbound(ByteBuffer(bytes: [byte]))
        }
        #expect(try Self.output(channel) == "", "no answer before the head ends")
        try channel.writeInbound(Self.bytes("\n"))
        #expect(try Self.output(channel).hasSuffix("GET /metrics [] -"))
    }

    @Test func headGetsTheHeadersWithoutTheBody() throws {
        let channel = try Self.channel()
        try channel.writeInbound(Self.bytes("HEAD /status HTTP/1.1\r\n\r\n"))
        let answer = try Self.output(channel)
        #expect(answer.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(answer.contains("Content-Length: \("HEAD /status [] -".utf8.count)\r\n"))
        #expect(answer.hasSuffix("\r\n\r\n"), "no body after the head: \(answer)")
        #expect(!channel.isActive)
    }

    @Test func aPipelinedSecondRequestIsNotAnswered() throws {
        let channel = try Self.channel()
        try channel.writeInbound(Self.bytes("GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n"))
        let answer = try Self.output(channel)
        #expect(answer.components(separatedBy: "HTTP/1.1 200").count == 2, "exactly one answer: \(answer)")
        #expect(answer.hasSuffix("GET /a [] -"))
        #expect(!channel.isActive)
    }

    @Test func malformedHTTPGets400AndIsClosed() throws {
        let channel = try Self.channel()
        // A space inside a header name is not HTTP.
        try channel.writeInbound(Self.bytes("GET / HTTP/1.1\r\nBad Header: x\r\n\r\n"))
        let answer = try Self.output(channel)
        #expect(answer.hasPrefix("HTTP/1.1 400 Bad Request\r\n"), "\(answer)")
        #expect(answer.hasSuffix("bad request\n"))
        #expect(!channel.isActive)
    }

    @Test func binaryJunkGets400AndIsClosed() throws {
        let channel = try Self.channel()
        try channel.writeInbound(ByteBuffer(bytes: [0x16, 0x03, 0x01, 0x00, 0xFF, 0x00, 0x0D, 0x0A]))
        #expect(try Self.output(channel).hasPrefix("HTTP/1.1 400"))
        #expect(!channel.isActive)
    }

    /// The limit is on bytes received, exactly: at the limit the head may still end; one byte
    /// more closes without an answer.
    @Test func oneByteOverTheRequestLimitClosesWithoutAnAnswer() throws {
        let channel = try Self.channel()
        let start = "GET / HTTP/1.1\r\nX-Pad: "
        let padding = String(repeating: "a", count: AdminServer.maxRequestBytes - start.utf8.count)
        try channel.writeInbound(Self.bytes(start + padding))
        #expect(channel.isActive, "\(AdminServer.maxRequestBytes) bytes are allowed")
        try channel.writeInbound(Self.bytes("a"))
        #expect(!channel.isActive)
        let written = try Self.output(channel)
        #expect(written == "", "closed, not answered: \(written)")
    }

    @Test func anOversizedBodyInOneReadClosesWithoutAnAnswer() throws {
        let channel = try Self.channel()
        let body = String(repeating: "x", count: 10_000)
        try channel.writeInbound(Self.bytes("POST /bindings HTTP/1.1\r\nContent-Length: 10000\r\n\r\n\(body)"))
        #expect(!channel.isActive)
        #expect(try Self.output(channel) == "")
    }

    @Test func aSilentConnectionIsClosedAtTheDeadline() throws {
        let channel = try Self.channel()
        try channel.writeInbound(Self.bytes("GET / HTTP/1.1\r\n"))  // and never the rest
        channel.embeddedEventLoop.advanceTime(by: AdminServer.connectionTimeout - .milliseconds(1))
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(1))
        #expect(!channel.isActive)
        #expect(try Self.output(channel) == "")
    }

    @Test func aFailedRouteAnswers503() throws {
        struct Down: Error {}
        let channel = try Self.channel { _, loop in loop.makeFailedFuture(Down()) }
        try channel.writeInbound(Self.bytes("GET /status HTTP/1.1\r\n\r\n"))
        let answer = try Self.output(channel)
        #expect(answer.hasPrefix("HTTP/1.1 503 Service Unavailable\r\n"), "\(answer)")
        #expect(answer.contains("unavailable: Down"))
        #expect(!channel.isActive)
    }

    /// A route answering later (on the core's loop, in a real server) still answers, with its
    /// own headers.
    @Test func aLateAnswerIsWrittenWithItsHeaders() throws {
        let channel = try Self.channel { _, loop in
            loop.scheduleTask(in: .seconds(1)) {
                AdminResponse(
                    status: .ok, contentType: "text/html", body: Array("<p>".utf8), headers: [("X-Test", "1")])
            }.futureResult
        }
        try channel.writeInbound(Self.bytes("GET /dashboard HTTP/1.1\r\n\r\n"))
        #expect(try Self.output(channel) == "")
        channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        let answer = try Self.output(channel)
        #expect(answer.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(answer.contains("Content-Type: text/html\r\n"))
        #expect(answer.contains("X-Test: 1\r\n"))
        #expect(answer.hasSuffix("\r\n\r\n<p>"))
        #expect(!channel.isActive)
    }
}
