// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import NIOEmbedded
import T2UCore
import Testing

@testable import T2UServer

/// One TCP fallback connection on the server (`StreamPeerHandler`, the part above TLS) back to
/// back in an `EmbeddedChannel`, in front of a real driver and core: the upgrade head, framed
/// datagrams both ways, and every way a peer can get itself closed. Timers on virtual time.
@Suite struct StreamPeerHandlerTests {
    static let remote = NetAddress(ipv4: (198, 51, 100, 20), port: 51_000)

    static func channel(limits: StreamListener.Limits = .init()) throws -> (EmbeddedChannel, ServerDriver) {
        let channel = EmbeddedChannel()
        let driver = ServerDatagramHandlerTests.driver(on: channel.embeddedEventLoop)
        try channel.pipeline.syncOperations.addHandler(
            StreamPeerHandler(driver: driver, remote: remote, limits: limits))
        try channel.connect(to: SocketAddress(ipAddress: "198.51.100.20", port: 51_000)).wait()
        return (channel, driver)
    }

    static func frame(_ message: SignalingMessage) -> ByteBuffer {
        var datagram = ByteBuffer()
        message.write(into: &datagram)
        var frame = ByteBuffer()
        StreamFraming.encode(datagram, into: &frame)
        return frame
    }

    static var upgrade: ByteBuffer { ByteBuffer(bytes: StreamUpgrade.request(host: "t2u.example")) }

    /// The datagrams in everything written so far (after the 101, which must come first).
    static func framedOutput(_ channel: EmbeddedChannel) throws -> [SignalingMessage] {
        var stream = ByteBuffer()
        while var chunk = try channel.readOutbound(as: ByteBuffer.self) { stream.writeBuffer(&chunk) }
        var messages: [SignalingMessage] = []
        var deframer = StreamDeframer()
        var failure: Error?
        try deframer.feed(stream) { datagram in
            do { messages.append(try SignalingMessage.parse(datagram)) } catch { failure = error }
        }
        if let failure { throw failure }
        #expect(deframer.bufferedBytes == 0, "no partial frame written")
        return messages
    }

    static func readSwitchingProtocols(_ channel: EmbeddedChannel) throws {
        let answer = try #require(try channel.readOutbound(as: ByteBuffer.self))
        #expect(Array(answer.readableBytesView) == StreamUpgrade.switchingProtocols)
    }

    @Test func upgradedThenAProbeGoesToTheCoreAndItsAnswerComesBackFramed() throws {
        let (channel, driver) = try Self.channel()
        try channel.writeInbound(Self.upgrade)
        try Self.readSwitchingProtocols(channel)
        #expect(driver.streamCounters.opened == 1)
        #expect(driver.streams[Self.remote] != nil, "the core's answers to this peer go down the stream")

        try channel.writeInbound(Self.frame(.probe(requestID: 11)))
        #expect(try Self.framedOutput(channel) == [.probeResult(requestID: 11, observed: Self.remote)])
        #expect(driver.streamCounters.datagramsReceived == 1)
        #expect(driver.streamCounters.datagramsSent == 1)
        driver.stop()
    }

    /// Head and frames arrive cut anywhere: byte by byte, the head's end and frames in one read.
    @Test func headAndFramesInAnyPieces() throws {
        let (channel, driver) = try Self.channel()
        var bytes = Self.upgrade
        bytes.writeImmutableBuffer(Self.frame(.probe(requestID: 1)))
        bytes.writeImmutableBuffer(Self.frame(.probe(requestID: 2)))
        for byte in bytes.readableBytesView { try channel.writeInbound(ByteBuffer(bytes: [byte])) }
        try Self.readSwitchingProtocols(channel)
        #expect(
            try Self.framedOutput(channel) == [
                .probeResult(requestID: 1, observed: Self.remote), .probeResult(requestID: 2, observed: Self.remote),
            ])

        // The end of the head and a frame in the same read.
        let (other, otherDriver) = try Self.channel()
        var joined = Self.upgrade
        joined.writeImmutableBuffer(Self.frame(.probe(requestID: 3)))
        try other.writeInbound(joined)
        try Self.readSwitchingProtocols(other)
        #expect(try Self.framedOutput(other) == [.probeResult(requestID: 3, observed: Self.remote)])
        driver.stop()
        otherDriver.stop()
    }

    /// Not our upgrade: answered as a web server would (404) and closed; nothing reaches the core.
    @Test func anotherRequestGets404AndIsClosed() throws {
        let (channel, driver) = try Self.channel()
        var request = ByteBuffer(string: "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        request.writeImmutableBuffer(Self.frame(.probe(requestID: 4)))
        try channel.writeInbound(request)
        let answer = try #require(try channel.readOutbound(as: ByteBuffer.self))
        #expect(Array(answer.readableBytesView) == StreamUpgrade.notFound)
        #expect(!channel.isActive)
        #expect(driver.streamCounters.rejected == 1)
        #expect(driver.streamCounters.opened == 0)
        #expect(driver.core.counters.datagramsReceived == 0)
        driver.stop()
    }

    @Test func anUpgradeWithoutTheUpgradeHeaderGets404() throws {
        let (channel, driver) = try Self.channel()
        try channel.writeInbound(ByteBuffer(string: "GET /t2u HTTP/1.1\r\nHost: x\r\n\r\n"))
        let answer = try #require(try channel.readOutbound(as: ByteBuffer.self))
        #expect(Array(answer.readableBytesView) == StreamUpgrade.notFound)
        #expect(!channel.isActive)
        driver.stop()
    }

    /// A head that never ends is cut at `maxHeadLength`, without an answer.
    @Test func anEndlessHeadIsClosedAtTheLimit() throws {
        let (channel, driver) = try Self.channel()
        try channel.writeInbound(ByteBuffer(string: "GET /t2u HTTP/1.1\r\nX: "))
        try channel.writeInbound(ByteBuffer(repeating: UInt8(ascii: "a"), count: StreamUpgrade.maxHeadLength))
        #expect(!channel.isActive)
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)
        #expect(driver.streamCounters.rejected == 1)
        driver.stop()
    }

    /// A frame longer than `maxFrame` closes the stream; the frames before it were delivered.
    @Test func anOversizedFrameClosesTheStream() throws {
        var limits = StreamListener.Limits()
        limits.maxFrame = 1500
        let (channel, driver) = try Self.channel(limits: limits)
        try channel.writeInbound(Self.upgrade)
        try Self.readSwitchingProtocols(channel)
        var bytes = Self.frame(.probe(requestID: 5))
        bytes.writeInteger(UInt16(1501))
        bytes.writeRepeatingByte(0, count: 1501)
        try channel.writeInbound(bytes)
        #expect(!channel.isActive)
        #expect(driver.streamCounters.datagramsReceived == 1)
        #expect(driver.streamCounters.rejected == 1)
        #expect(driver.streams[Self.remote] == nil, "forgotten once closed")
        driver.stop()
    }

    @Test func anEmptyFrameClosesTheStream() throws {
        let (channel, driver) = try Self.channel()
        try channel.writeInbound(Self.upgrade)
        try channel.writeInbound(ByteBuffer(bytes: [0, 0]))
        #expect(!channel.isActive)
        #expect(driver.streamCounters.rejected == 1)
        driver.stop()
    }

    @Test func noUpgradeWithinTheTimeoutCloses() throws {
        var limits = StreamListener.Limits()
        limits.upgradeTimeout = .seconds(10)
        let (channel, driver) = try Self.channel(limits: limits)
        try channel.writeInbound(ByteBuffer(string: "GET /t2u HTTP/1.1\r\n"))
        channel.embeddedEventLoop.advanceTime(by: .seconds(9))
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        #expect(!channel.isActive)
        driver.stop()
    }

    @Test func anUpgradedStreamOutlivesTheUpgradeTimeout() throws {
        let (channel, driver) = try Self.channel()
        try channel.writeInbound(Self.upgrade)
        channel.embeddedEventLoop.advanceTime(by: StreamListener.Limits().upgradeTimeout + .seconds(1))
        #expect(channel.isActive)
        driver.stop()
    }

    /// `IdleStateHandler`'s read-idle event closes; other events pass on.
    @Test func readIdleCloses() throws {
        let (channel, driver) = try Self.channel()
        try channel.writeInbound(Self.upgrade)
        channel.pipeline.fireUserInboundEventTriggered(IdleStateHandler.IdleStateEvent.write)
        #expect(channel.isActive)
        channel.pipeline.fireUserInboundEventTriggered(IdleStateHandler.IdleStateEvent.read)
        #expect(!channel.isActive)
        #expect(driver.streams[Self.remote] == nil)
        driver.stop()
    }

    /// A peer that does not read: datagrams to it are dropped (counted), never queued.
    @Test func aSlowReaderLosesDatagramsInsteadOfQueueingThem() throws {
        let (channel, driver) = try Self.channel()
        try channel.writeInbound(Self.upgrade)
        try Self.readSwitchingProtocols(channel)
        channel.isWritable = false
        try channel.writeInbound(Self.frame(.probe(requestID: 6)))
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)
        #expect(driver.streamCounters.datagramsDropped == 1)
        #expect(driver.streamCounters.datagramsSent == 0)
        driver.stop()
    }
}
