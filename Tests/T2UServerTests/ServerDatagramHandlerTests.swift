// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Logging
import NIOCore
import NIOEmbedded
import T2UCore
import T2UNIO
import Testing

@testable import T2UServer

/// The server's UDP handler back to back in an `EmbeddedChannel`, in front of a real
/// `ServerDriver` and `ServerCore`: datagrams in, the core's answers out, nothing for junk.
@Suite struct ServerDatagramHandlerTests {
    /// A driver on `loop` around a fresh core (default configuration, seeded entropy).
    static func driver(on loop: EventLoop) -> ServerDriver {
        let core = ServerCore(config: ServerConfig(), entropy: SeededEntropy(seed: 7), now: MonotonicClock.now())
        return ServerDriver(core: core, eventLoop: loop, logger: Logger(label: "test.server"))
    }

    /// A main-port socket: the channel carries the handler and is the driver's IPv4 socket.
    static func channel() throws -> (EmbeddedChannel, ServerDriver) {
        let channel = EmbeddedChannel()
        let driver = Self.driver(on: channel.embeddedEventLoop)
        try channel.pipeline.syncOperations.addHandler(ServerDatagramHandler(driver: driver, socket: .main))
        var listeners = ServerListeners()
        listeners.add(channel)
        driver.channels[.main] = listeners
        try channel.connect(to: SocketAddress(ipAddress: "203.0.113.1", port: 7000)).wait()
        return (channel, driver)
    }

    static func datagram(_ message: SignalingMessage) -> ByteBuffer {
        var buffer = ByteBuffer()
        message.write(into: &buffer)
        return buffer
    }

    static func envelope(
        _ data: ByteBuffer, from host: String, port: Int = 40_000
    ) throws
        -> AddressedEnvelope<ByteBuffer>
    {
        AddressedEnvelope(remoteAddress: try SocketAddress(ipAddress: host, port: port), data: data)
    }

    @Test func aProbeIsAnsweredWithTheAddressItCameFrom() throws {
        let (channel, driver) = try Self.channel()
        try channel.writeInbound(try Self.envelope(Self.datagram(.probe(requestID: 5)), from: "198.51.100.7"))
        let reply = try #require(try channel.readOutbound(as: AddressedEnvelope<ByteBuffer>.self))
        #expect(reply.remoteAddress == (try SocketAddress(ipAddress: "198.51.100.7", port: 40_000)))
        #expect(
            try SignalingMessage.parse(reply.data)
                == .probeResult(requestID: 5, observed: NetAddress(ipv4: (198, 51, 100, 7), port: 40_000)))
        #expect(try channel.readOutbound(as: AddressedEnvelope<ByteBuffer>.self) == nil)
        #expect(driver.core.counters.signalingReplies == 1)
        driver.stop()
    }

    /// The core answers at the end of a read batch, all at once (one flush per batch).
    @Test func aBatchIsAnsweredAtReadComplete() throws {
        let (channel, driver) = try Self.channel()
        for id in UInt32(1)...3 {
            channel.pipeline.fireChannelRead(
                try Self.envelope(Self.datagram(.probe(requestID: id)), from: "198.51.100.\(id)"))
        }
        #expect(
            try channel.readOutbound(as: AddressedEnvelope<ByteBuffer>.self) == nil, "nothing before the batch ends")
        channel.pipeline.fireChannelReadComplete()
        var answered: [UInt32] = []
        while let reply = try channel.readOutbound(as: AddressedEnvelope<ByteBuffer>.self) {
            if case .probeResult(let id, _) = try SignalingMessage.parse(reply.data) { answered.append(id) }
        }
        #expect(answered == [1, 2, 3])
        driver.stop()
    }

    @Test func junkAndUnpaddedRequestsGetNothing() throws {
        let (channel, driver) = try Self.channel()
        // A probe cut short of its padding: answering it would make us an amplifier.
        let probe = Self.datagram(.probe(requestID: 9))
        let unpadded = try #require(probe.getSlice(at: probe.readerIndex, length: 6))
        try channel.writeInbound(try Self.envelope(unpadded, from: "198.51.100.8"))
        try channel.writeInbound(try Self.envelope(ByteBuffer(), from: "198.51.100.9"))
        try channel.writeInbound(try Self.envelope(ByteBuffer(bytes: [0xEE, 0xFF, 0x00, 0x01]), from: "198.51.100.10"))
        try channel.writeInbound(
            try Self.envelope(ByteBuffer(bytes: Array(repeating: 0xFF, count: 2000)), from: "198.51.100.11"))
        #expect(try channel.readOutbound(as: AddressedEnvelope<ByteBuffer>.self) == nil)
        #expect(driver.core.counters.datagramsReceived == 4)
        #expect(driver.core.counters.signalingReplies == 0)
        #expect(driver.core.counters.rejected[.unpadded] == 1)
        #expect(channel.isActive)
        driver.stop()
    }

    /// No IPv6 socket: an IPv6 peer's answer is dropped, never sent from the IPv4 one.
    @Test func anAnswerLeavesOnlyThroughItsOwnFamily() throws {
        let (channel, driver) = try Self.channel()
        try channel.writeInbound(try Self.envelope(Self.datagram(.probe(requestID: 6)), from: "2001:db8::7"))
        #expect(driver.core.counters.signalingReplies == 1, "the core answered")
        #expect(try channel.readOutbound(as: AddressedEnvelope<ByteBuffer>.self) == nil, "but not on this socket")
        driver.stop()
    }

    /// An ICMP error surfacing on the socket must not close it (the server would go deaf).
    @Test func aSocketErrorLeavesTheSocketOpen() throws {
        struct Unreachable: Error {}
        let (channel, driver) = try Self.channel()
        channel.pipeline.fireErrorCaught(Unreachable())
        #expect(throws: Never.self) { try channel.throwIfErrorCaught() }
        #expect(channel.isActive)
        try channel.writeInbound(try Self.envelope(Self.datagram(.probe(requestID: 8)), from: "198.51.100.12"))
        #expect(try channel.readOutbound(as: AddressedEnvelope<ByteBuffer>.self) != nil, "still answering")
        driver.stop()
    }
}
