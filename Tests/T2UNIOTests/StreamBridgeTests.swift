// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Logging
import NIOCore
import NIOEmbedded
import T2UCore
import Testing

@testable import T2UNIO

/// `StreamBridge` back to back in an `EmbeddedChannel` (its TCP side) over a real transport
/// connection whose datagrams the test carries by hand between two in-memory endpoints (its
/// stream side): no socket, no timer waited on. The driver has no UDP socket, so what the
/// client's endpoint sends stays there for `pump` to take.
@Suite struct StreamBridgeTests {
    static let clientAddress = NetAddress(ipv4: (192, 0, 2, 10), port: 40_000)
    static let deviceAddress = NetAddress(ipv4: (192, 0, 2, 20), port: 40_001)

    struct NoConnection: Error {}

    /// Two endpoints, connected; the client's end carries the bridge.
    final class Tunnel {
        let client: TransportEndpoint
        let device: TransportEndpoint
        let clientConnection: Connection
        let deviceConnection: Connection
        private var scratch = ByteBufferAllocator().buffer(capacity: 2048)

        init(config: TransportConfig = TransportConfig()) throws {
            let entropy = SeededEntropy(seed: 21)
            let identity = StaticIdentity.generate(entropy)
            device = TransportEndpoint(
                options: .init(config: config, identity: identity, acceptIncoming: true), entropy: entropy)
            client = TransportEndpoint(
                options: .init(config: config, identity: .generate(entropy), acceptIncoming: false), entropy: entropy)
            clientConnection = client.connect(
                to: StreamBridgeTests.deviceAddress, remoteStaticKey: identity.publicKey, password: nil,
                now: EndpointDriver.now())
            Self.pump(client, device, scratch: &scratch)
            guard let accepted = device.pollAccepted() else { throw NoConnection() }
            deviceConnection = accepted
        }

        /// Carries datagrams both ways until neither side has any to send.
        func pump() { Self.pump(client, device, scratch: &scratch) }

        private static func pump(_ client: TransportEndpoint, _ device: TransportEndpoint, scratch: inout ByteBuffer) {
            for _ in 0..<100 {
                var moved = false
                let now = EndpointDriver.now()
                while client.pollTransmit(now: now, into: &scratch) != nil {
                    device.receive(scratch, from: StreamBridgeTests.clientAddress, now: now)
                    moved = true
                }
                while device.pollTransmit(now: now, into: &scratch) != nil {
                    client.receive(scratch, from: StreamBridgeTests.deviceAddress, now: now)
                    moved = true
                }
                if !moved { return }
            }
        }

        /// The device's events so far (its end has no driver).
        func deviceEvents() -> [ConnectionEvent] {
            var events: [ConnectionEvent] = []
            while let event = deviceConnection.pollEvent() { events.append(event) }
            return events
        }

        /// Everything the device can read now from `stream`.
        func deviceReads(_ stream: StreamID) throws -> [UInt8] {
            var bytes: [UInt8] = []
            while case .data(let data) = try deviceConnection.read(stream, maxBytes: 65_536) {
                bytes += data.readableBytesView
            }
            return bytes
        }
    }

    /// A bridge on a fresh stream of a fresh tunnel, its TCP side connected.
    static func bridge(
        config: TransportConfig = TransportConfig(), in channel: EmbeddedChannel = EmbeddedChannel()
    ) throws -> (EmbeddedChannel, StreamBridge, Tunnel, StreamID) {
        let tunnel = try Tunnel(config: config)
        let driver = EndpointDriver(endpoint: tunnel.client, eventLoop: channel.embeddedEventLoop)
        let stream = try tunnel.clientConnection.openStream()
        let bridge = StreamBridge(
            stream: stream, connection: tunnel.clientConnection, driver: driver, logger: Logger(label: "test"))
        try channel.pipeline.syncOperations.addHandler(bridge)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 8080)).wait()
        return (channel, bridge, tunnel, stream)
    }

    /// Hands the client connection's events to the bridge, as the tunnel service does.
    static func deliver(_ tunnel: Tunnel, to bridge: StreamBridge, _ channel: EmbeddedChannel) {
        channel.embeddedEventLoop.run()
        while let event = tunnel.clientConnection.pollEvent() { bridge.handle(event) }
    }

    static func tcpOutput(_ channel: EmbeddedChannel) throws -> [UInt8] {
        var bytes: [UInt8] = []
        while let chunk = try channel.readOutbound(as: ByteBuffer.self) { bytes += chunk.readableBytesView }
        return bytes
    }

    /// The client's TCP bytes arrive on the device's end; the stream is the device's first.
    static func sendFromTCP(_ text: String, _ channel: EmbeddedChannel, _ tunnel: Tunnel) throws -> StreamID {
        try channel.writeInbound(ByteBuffer(string: text))
        tunnel.pump()
        let opened = tunnel.deviceEvents().compactMap { event -> StreamID? in
            if case .streamOpened(let id) = event { id } else { nil }
        }
        let stream = try #require(opened.first)
        #expect(String(decoding: try tunnel.deviceReads(stream), as: UTF8.self) == text)
        return stream
    }

    @Test func bytesCrossBothWays() throws {
        let (channel, bridge, tunnel, _) = try Self.bridge()
        let deviceStream = try Self.sendFromTCP("GET / HTTP/1.0\r\n\r\n", channel, tunnel)
        #expect(bridge.bytesToStream == 18)

        _ = try tunnel.deviceConnection.write(ByteBuffer(string: "HTTP/1.0 200 OK\r\n\r\nhi"), to: deviceStream)
        tunnel.pump()
        Self.deliver(tunnel, to: bridge, channel)
        #expect(String(decoding: try Self.tcpOutput(channel), as: UTF8.self) == "HTTP/1.0 200 OK\r\n\r\nhi")
        #expect(bridge.bytesToTCP == 21)
        #expect(channel.isActive)
    }

    /// The client's bridge waits for the device's reply: an ok is consumed (never reaches TCP) and
    /// what follows it passes.
    @Test func anOkReplyIsConsumedAndDataFollows() throws {
        let (channel, bridge, tunnel, _) = try Self.bridge()
        var heard: [StreamTargetReply.Status] = []
        bridge.awaitReply { heard.append($0) }
        let deviceStream = try Self.sendFromTCP("hello", channel, tunnel)
        var answer = StreamTargetReply(status: .ok).encoded()
        answer.writeString("world")
        _ = try tunnel.deviceConnection.write(answer, to: deviceStream)
        tunnel.pump()
        Self.deliver(tunnel, to: bridge, channel)
        #expect(heard == [.ok])
        #expect(String(decoding: try Self.tcpOutput(channel), as: UTF8.self) == "world")
        #expect(channel.isActive)
    }

    /// A refusal (or a reply that is not one) closes TCP without a byte; the device's stream is
    /// reset.
    @Test func aRefusalOrAMalformedReplyClosesTCP() throws {
        for (reply, expected) in [
            (StreamTargetReply(status: .connectionRefused).encoded(), [StreamTargetReply.Status.connectionRefused]),
            (ByteBuffer(bytes: [0xFF, 0x00, 0x41, 0x42]), []),
            (ByteBuffer(bytes: [StreamTargetHeader.magicVersion, 0xEE]), []),
        ] {
            let (channel, bridge, tunnel, _) = try Self.bridge()
            var heard: [StreamTargetReply.Status] = []
            bridge.awaitReply { heard.append($0) }
            let deviceStream = try Self.sendFromTCP("hello", channel, tunnel)
            var answer = reply
            answer.writeString("must not reach TCP")
            _ = try tunnel.deviceConnection.write(answer, to: deviceStream)
            tunnel.pump()
            Self.deliver(tunnel, to: bridge, channel)
            #expect(heard == expected)
            #expect(try Self.tcpOutput(channel).isEmpty)
            #expect(!channel.isActive)
            channel.embeddedEventLoop.run()
            tunnel.pump()
            #expect(
                tunnel.deviceEvents().contains(.streamReset(deviceStream, errorCode: StreamBridge.tcpAbortedErrorCode)))
        }
    }

    /// A reply cut into pieces is still read whole.
    @Test func aReplyInPiecesIsReadWhole() throws {
        let (channel, bridge, tunnel, _) = try Self.bridge()
        var heard: [StreamTargetReply.Status] = []
        bridge.awaitReply { heard.append($0) }
        let deviceStream = try Self.sendFromTCP("hello", channel, tunnel)
        let reply = StreamTargetReply(status: .ok).encoded()
        for index in reply.readableBytesView.indices {
            _ = try tunnel.deviceConnection.write(ByteBuffer(bytes: [reply.readableBytesView[index]]), to: deviceStream)
            tunnel.pump()
            Self.deliver(tunnel, to: bridge, channel)
        }
        #expect(heard == [.ok])
        #expect(channel.isActive)
    }

    /// A TCP error (a reset by the local application) resets the stream: the device sees an
    /// abort, not a clean end.
    @Test func aTCPErrorResetsTheStream() throws {
        struct ConnectionReset: Error {}
        let (channel, _, tunnel, _) = try Self.bridge()
        let deviceStream = try Self.sendFromTCP("partial", channel, tunnel)
        channel.pipeline.fireErrorCaught(ConnectionReset())
        #expect(!channel.isActive)
        channel.embeddedEventLoop.run()
        tunnel.pump()
        #expect(tunnel.deviceEvents().contains(.streamReset(deviceStream, errorCode: StreamBridge.tcpAbortedErrorCode)))
    }

    /// The device resets the stream: TCP is closed at once.
    @Test func aStreamResetClosesTCP() throws {
        let (channel, bridge, tunnel, _) = try Self.bridge()
        let deviceStream = try Self.sendFromTCP("hello", channel, tunnel)
        tunnel.deviceConnection.reset(deviceStream, errorCode: 7)
        tunnel.pump()
        Self.deliver(tunnel, to: bridge, channel)
        #expect(!channel.isActive)
    }

    /// TCP bytes the stream cannot take yet stay in the bridge and TCP reads stop; once the
    /// device has read and its credit is back (`.streamWritable`), the rest goes and reads resume.
    @Test func aFullStreamHoldsTCPReadsUntilItDrains() throws {
        var config = TransportConfig()
        config.pacing = false  // packets leave when polled: no wall-clock pacing between pumps
        config.streamSendBuffer = 64 * 1024
        let counter = ReadCounter()
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(counter)
        let (_, bridge, tunnel, _) = try Self.bridge(config: config, in: channel)
        channel.read()
        #expect(counter.reads == 1, "nothing pending: reads pass")

        let total = 256 * 1024
        try channel.writeInbound(ByteBuffer(repeating: 0x5A, count: total))
        #expect(bridge.bytesToStream < UInt64(total), "the stream took only part of it")
        channel.read()
        #expect(counter.reads == 1, "held while bytes wait for the stream")

        var received = 0
        var deviceStream: StreamID?
        for _ in 0..<500 where bridge.bytesToStream < UInt64(total) || received < total {
            tunnel.pump()
            for event in tunnel.deviceEvents() {
                if case .streamOpened(let id) = event { deviceStream = id }
            }
            if let deviceStream { received += try tunnel.deviceReads(deviceStream).count }
            tunnel.pump()
            Self.deliver(tunnel, to: bridge, channel)
        }
        #expect(bridge.bytesToStream == UInt64(total))
        #expect(received == total)
        #expect(counter.reads == 2, "the held read went out once the bytes were taken")
    }
}
