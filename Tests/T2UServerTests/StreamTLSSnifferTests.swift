// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Logging
import NIOCore
import NIOEmbedded
import NIOPosix
import NIOSSL
import T2UCore
import Testing

@testable import T2UServer

/// The fallback port takes the upgrade with TLS (a ClientHello first: 0x16) or without (the C
/// agent's plain `GET /t2u`): `StreamTLSSniffer` decides on the first byte and leaves the pipeline.
@Suite(.serialized) struct StreamTLSSnifferTests {
    static func serverChannel() throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(StreamTLSSniffer(tls: StreamTLSIdentity.makeServerContext()))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 443)).wait()
        return channel
    }

    static func has<H: ChannelHandler>(_ type: H.Type, in channel: EmbeddedChannel) -> Bool {
        (try? channel.pipeline.syncOperations.handler(type: type)) != nil
    }

    @Test func plainUpgradeGoesStraightToTheUpgradeCheck() throws {
        let channel = try Self.serverChannel()
        let request = ByteBuffer(bytes: StreamUpgrade.request(host: "192.0.2.1:443"))
        try channel.writeInbound(request)
        #expect(try channel.readInbound(as: ByteBuffer.self) == request)
        #expect(!Self.has(StreamTLSSniffer.self, in: channel), "removed after the first read")
        #expect(!Self.has(NIOSSLServerHandler.self, in: channel))
        // Later bytes pass untouched, a 0x16 among them (a frame's length byte, say).
        let frame = ByteBuffer(bytes: [0x16, 0x01, 0x02])
        try channel.writeInbound(frame)
        #expect(try channel.readInbound(as: ByteBuffer.self) == frame)
        #expect(!Self.has(NIOSSLServerHandler.self, in: channel))
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil, "the sniffer never answers")
        _ = try channel.finish()
    }

    @Test func clientHelloGetsTLSAndTheRequestArrivesDecrypted() throws {
        let server = try Self.serverChannel()
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.certificateVerification = .none
        configuration.applicationProtocols = ["http/1.1"]
        let client = EmbeddedChannel()
        try client.pipeline.syncOperations.addHandler(
            NIOSSLClientHandler(context: NIOSSLContext(configuration: configuration), serverHostname: nil))
        try client.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 443)).wait()

        let hello = try #require(try client.readOutbound(as: ByteBuffer.self))
        #expect(hello.getInteger(at: hello.readerIndex, as: UInt8.self) == StreamTLSSniffer.tlsHandshakeRecord)
        try server.writeInbound(hello)
        #expect(Self.has(NIOSSLServerHandler.self, in: server), "TLS put in front")
        #expect(!Self.has(StreamTLSSniffer.self, in: server))
        #expect(try server.readInbound(as: ByteBuffer.self) == nil, "no handshake byte passes as plaintext")

        // The handshake, then the upgrade request through it: bytes shuttled both ways (bounded).
        let request = ByteBuffer(bytes: StreamUpgrade.request(host: "192.0.2.1:443"))
        client.writeAndFlush(request, promise: nil)
        var received = server.allocator.buffer(capacity: 0)
        for _ in 0..<20 {
            var moved = false
            while let bytes = try client.readOutbound(as: ByteBuffer.self) {
                try server.writeInbound(bytes)
                moved = true
            }
            while let bytes = try server.readOutbound(as: ByteBuffer.self) {
                try client.writeInbound(bytes)
                moved = true
            }
            while var plain = try server.readInbound(as: ByteBuffer.self) { received.writeBuffer(&plain) }
            if !moved { break }
        }
        #expect(received == request, "the request, decrypted, reaches the upgrade check")
        // Not finish(): it waits for TLS's close_notify exchange; its timer fires on virtual time.
        client.close(promise: nil)
        server.close(promise: nil)
        client.embeddedEventLoop.advanceTime(by: .seconds(60))
        server.embeddedEventLoop.advanceTime(by: .seconds(60))
    }

    /// On loopback against the real listener: a plain upgrade is answered 101 and a plain other
    /// request 404, as over TLS.
    @Test func plainUpgradeOnTheListener() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let (runner, port) = try await StreamListenerLimitsTests.startServer(group: group)

        func exchange(_ request: [UInt8]) async throws -> String {
            let stream = try await ClientBootstrap(group: group).connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
            return try await stream.executeThenClose { inbound, outbound in
                try await outbound.write(ByteBuffer(bytes: request))
                var text = ""
                for try await chunk in inbound {
                    text += String(buffer: chunk)
                    if text.contains("\r\n\r\n") { break }
                }
                return text
            }
        }
        let upgraded = try await exchange(StreamUpgrade.request(host: "127.0.0.1"))
        #expect(upgraded.hasPrefix("HTTP/1.1 101"), "\(upgraded)")
        let refused = try await exchange(Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        #expect(refused.hasPrefix("HTTP/1.1 404"), "\(refused)")
        try await runner.shutdown()
        try? await group.shutdownGracefully()
    }
}
