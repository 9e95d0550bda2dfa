// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import NIOEmbedded
import Testing

@testable import T2UNIO

/// The demo and benchmark device service back to back in an `EmbeddedChannel`.
@Suite struct TCPEchoHandlerTests {
    static func channel() throws -> EmbeddedChannel {
        let channel = EmbeddedChannel(handler: TCPEchoHandler())
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 7)).wait()
        return channel
    }

    @Test func everyReadComesBackInOrder() throws {
        let channel = try Self.channel()
        let chunks = ["hello", "", "\u{0}\u{1}binary", String(repeating: "x", count: 70_000)]
        for chunk in chunks { try channel.writeInbound(ByteBuffer(string: chunk)) }
        for chunk in chunks {
            #expect(try channel.readOutbound(as: ByteBuffer.self) == ByteBuffer(string: chunk))
        }
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)
        #expect(try channel.finish().isClean)
    }

    /// Writes are held until the read batch ends, then flushed together.
    @Test func flushedAtTheEndOfTheReadBatch() throws {
        let channel = try Self.channel()
        channel.pipeline.fireChannelRead(ByteBuffer(string: "a"))
        channel.pipeline.fireChannelRead(ByteBuffer(string: "b"))
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)
        channel.pipeline.fireChannelReadComplete()
        #expect(try channel.readOutbound(as: ByteBuffer.self) == ByteBuffer(string: "a"))
        #expect(try channel.readOutbound(as: ByteBuffer.self) == ByteBuffer(string: "b"))
        _ = try channel.finish()
    }

    @Test func anErrorCloses() throws {
        struct Reset: Error {}
        let channel = try Self.channel()
        channel.pipeline.fireErrorCaught(Reset())
        #expect(!channel.isActive)
        #expect(throws: Never.self) { try channel.throwIfErrorCaught() }
    }
}
