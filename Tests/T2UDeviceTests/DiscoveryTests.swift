// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import NIOPosix
import Synchronization
import T2UCore
import T2UDevice
import T2UNIO
import Testing

@Suite(.serialized) struct DiscoveryTests {
    /// Sends `message` to 127.0.0.1:`port` and collects replies: until the first one plus a
    /// moment for duplicates, or for `seconds` when none comes.
    static func ask(
        _ message: SignalingMessage, port: UInt16, group: EventLoopGroup, seconds: Double = 5
    ) async throws -> [SignalingMessage] {
        let collector = Collector()
        let channel = try await DatagramBootstrap(group: group)
            .channelInitializer { $0.pipeline.addHandler(collector) }
            .bind(host: "127.0.0.1", port: 0).get()
        var buffer = channel.allocator.buffer(capacity: 64)
        message.write(into: &buffer)
        try await channel.writeAndFlush(
            AddressedEnvelope(remoteAddress: try SocketAddress(ipAddress: "127.0.0.1", port: Int(port)), data: buffer))
        if await eventually(seconds, { !collector.messages.all.isEmpty }) {
            // A moment for duplicates: the tests count replies that must not come.
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        try await channel.close()
        return collector.messages.all
    }

    @Test func unicastSearchIsAnswered() async throws {
        let harness = try await DeviceHarness()
        let discoveryPort = try await harness.freeUDPPort()
        let udpPort = try await harness.freeUDPPort()
        var options = harness.deviceOptions(uuid: "cam-lan")
        options.discoveryAddress = "239.255.75.50"
        options.discoveryPort = discoveryPort
        options.udpPort = udpPort
        let agent = try DeviceAgent(options: options)
        try await agent.start()

        let any = try await Self.ask(.search(requestID: 77, uuid: nil), port: discoveryPort, group: harness.group)
        #expect(
            any == [
                .searchReply(requestID: 77, uuid: "cam-lan", address: NetAddress(ipv4: (127, 0, 0, 1), port: udpPort))
            ])

        let mine = try await Self.ask(
            .search(requestID: 78, uuid: "cam-lan"), port: discoveryPort, group: harness.group)
        #expect(
            mine == [
                .searchReply(requestID: 78, uuid: "cam-lan", address: NetAddress(ipv4: (127, 0, 0, 1), port: udpPort))
            ])

        let other = try await Self.ask(
            .search(requestID: 79, uuid: "someone-else"), port: discoveryPort, group: harness.group, seconds: 0.3)
        #expect(other.isEmpty, "a search for another UUID is not ours to answer")

        let junk = try await Self.ask(.probe(requestID: 80), port: discoveryPort, group: harness.group, seconds: 0.3)
        #expect(junk.isEmpty)

        await agent.shutdown()
        try await harness.close()
    }
}

final class Collector: ChannelInboundHandler, Sendable {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    let messages = MessageLog()
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if let message = try? SignalingMessage.parse(unwrapInboundIn(data).data) { messages.append(message) }
    }
}

final class MessageLog: Sendable {
    private let messages = Mutex<[SignalingMessage]>([])
    func append(_ message: SignalingMessage) { messages.withLock { $0.append(message) } }
    var all: [SignalingMessage] { messages.withLock { $0 } }
}
