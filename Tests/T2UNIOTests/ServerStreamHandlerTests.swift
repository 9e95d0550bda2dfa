// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Logging
import NIOCore
import NIOEmbedded
import T2UCore
import Testing

@testable import T2UNIO

/// The agent's end of a TCP fallback stream (`ServerStreamHandler`, the part above TLS) back to
/// back in an `EmbeddedChannel`, in front of a real `ServerStream`: the upgrade request out, the
/// server's answer and framed datagrams in, and every malformed answer closing the stream.
@Suite struct ServerStreamHandlerTests {
    static let server = NetAddress(ipv4: (203, 0, 113, 5), port: 7000)
    static let maxFrame = 1500

    /// What the stream told its owner.
    final class Heard {
        var datagrams: [[UInt8]] = []
        var changes = 0
    }

    /// A channel whose handler speaks for `stream`'s current attempt (or an older one: `generation`).
    static func channel(generation: UInt64 = 0) throws -> (EmbeddedChannel, ServerStream, Heard) {
        let channel = EmbeddedChannel()
        let loop = channel.embeddedEventLoop
        let stream = try ServerStream(
            options: ServerStreamOptions(port: 443), server: server, eventLoop: loop, logger: Logger(label: "test"))
        let heard = Heard()
        stream.onDatagram = { datagram, from in
            #expect(from == server)
            heard.datagrams.append(Array(datagram.readableBytesView))
        }
        stream.onChange = { heard.changes += 1 }
        try channel.pipeline.syncOperations.addHandler(
            ServerStreamHandler(
                owner: NIOLoopBound(stream, eventLoop: loop), generation: generation, host: "t2u.example",
                maxFrame: maxFrame))
        try channel.connect(to: SocketAddress(ipAddress: "203.0.113.5", port: 443)).wait()
        return (channel, stream, heard)
    }

    static func frame(_ bytes: [UInt8]) -> ByteBuffer {
        var frame = ByteBuffer()
        StreamFraming.encode(ByteBuffer(bytes: bytes), into: &frame)
        return frame
    }

    static var switchingProtocols: ByteBuffer { ByteBuffer(bytes: StreamUpgrade.switchingProtocols) }

    @Test func sendsTheUpgradeRequestOnConnect() throws {
        let (channel, _, _) = try Self.channel()
        let request = try #require(try channel.readOutbound(as: ByteBuffer.self))
        #expect(Array(request.readableBytesView) == StreamUpgrade.request(host: "t2u.example"))
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)
    }

    @Test func afterThe101FramesBecomeDatagrams() throws {
        let (channel, stream, heard) = try Self.channel()
        var bytes = Self.switchingProtocols
        bytes.writeImmutableBuffer(Self.frame([1, 2, 3]))
        bytes.writeImmutableBuffer(Self.frame(Array(repeating: 9, count: Self.maxFrame)))
        try channel.writeInbound(bytes)
        #expect(stream.counters.upgrades == 1)
        #expect(heard.datagrams == [[1, 2, 3], Array(repeating: 9, count: Self.maxFrame)])
        #expect(stream.counters.datagramsReceived == 2)
        #expect(heard.changes >= 1, "the owner steps after a read batch")
        #expect(channel.isActive)
    }

    /// The answer and the frames cut anywhere: byte by byte.
    @Test func answerAndFramesInAnyPieces() throws {
        let (channel, stream, heard) = try Self.channel()
        var bytes = Self.switchingProtocols
        bytes.writeImmutableBuffer(Self.frame([7]))
        bytes.writeImmutableBuffer(Self.frame([8, 8]))
        for byte in bytes.readableBytesView { try channel.writeInbound(ByteBuffer(bytes: [byte])) }
        #expect(stream.counters.upgrades == 1)
        #expect(heard.datagrams == [[7], [8, 8]])
    }

    /// Anything but a 101 (a captive portal's 200, a proxy's 403) closes: no frame is read.
    @Test func anotherAnswerCloses() throws {
        let (channel, stream, heard) = try Self.channel()
        var bytes = ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n")
        bytes.writeImmutableBuffer(Self.frame([1]))
        try channel.writeInbound(bytes)
        #expect(!channel.isActive)
        #expect(stream.counters.upgrades == 0)
        #expect(heard.datagrams.isEmpty)
    }

    @Test func anEndlessAnswerHeadCloses() throws {
        let (channel, stream, _) = try Self.channel()
        try channel.writeInbound(ByteBuffer(string: "HTTP/1.1 101 Switching Protocols\r\n"))
        try channel.writeInbound(ByteBuffer(repeating: UInt8(ascii: "a"), count: StreamUpgrade.maxHeadLength))
        #expect(!channel.isActive)
        #expect(stream.counters.upgrades == 0)
    }

    /// A frame above `maxFrame` (or empty) closes; the frames before it were delivered, none after.
    @Test func aBadFrameClosesAfterTheGoodOnes() throws {
        for bad: [UInt8] in [[0x05, 0xDD], [0x00, 0x00]] {  // 1501 > maxFrame, and an empty frame
            let (channel, stream, heard) = try Self.channel()
            var bytes = Self.switchingProtocols
            bytes.writeImmutableBuffer(Self.frame([1]))
            bytes.writeBytes(bad)
            bytes.writeImmutableBuffer(Self.frame([2]))
            try channel.writeInbound(bytes)
            #expect(!channel.isActive)
            #expect(stream.counters.upgrades == 1)
            #expect(heard.datagrams == [[1]])
        }
    }

    /// A handler of an abandoned attempt (the stream has moved on) reaches nothing.
    @Test func aStaleStreamIsIgnored() throws {
        let (channel, stream, heard) = try Self.channel(generation: 5)
        var bytes = Self.switchingProtocols
        bytes.writeImmutableBuffer(Self.frame([1]))
        try channel.writeInbound(bytes)
        #expect(stream.counters.upgrades == 0)
        #expect(stream.counters.datagramsReceived == 0)
        #expect(heard.datagrams.isEmpty)
        #expect(heard.changes == 0)
    }

    /// A TLS or TCP error closes the stream and tells the owner, once.
    @Test func anErrorClosesAndTellsTheOwner() throws {
        struct Broken: Error {}
        let (channel, _, heard) = try Self.channel()
        try channel.writeInbound(Self.switchingProtocols)
        let before = heard.changes
        channel.pipeline.fireErrorCaught(Broken())
        #expect(!channel.isActive)
        #expect(heard.changes == before + 1, "failed once; the close that follows is the old attempt's")
    }
}
