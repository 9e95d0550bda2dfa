// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Logging
import NIOCore
import NIOPosix
import T2UCore
import T2UImpair
import T2USim
import T2UTestSupport
import Testing

/// Echoes every datagram to its sender.
private final class EchoHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    typealias OutboundOut = AddressedEnvelope<ByteBuffer>
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = Self.unwrapInboundIn(data)
        context.writeAndFlush(
            Self.wrapOutboundOut(AddressedEnvelope(remoteAddress: envelope.remoteAddress, data: envelope.data)),
            promise: nil)
    }
}

/// Records datagrams with their arrival time. Made and read on its channel's event loop; counts
/// them in `arrivals` too, which tests wait on.
private final class CollectHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    var received: [(sequence: UInt32, sentAt: UInt64, receivedAt: UInt64)] = []
    let arrivals: Watched<Int>
    init(arrivals: Watched<Int>) { self.arrivals = arrivals }
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = Self.unwrapInboundIn(data).data
        guard let sequence = buffer.readInteger(as: UInt32.self), let sentAt = buffer.readInteger(as: UInt64.self)
        else { return }
        received.append((sequence, sentAt, NIODeadline.now().uptimeNanoseconds))
        arrivals.set(received.count)
    }
}

private struct Peer {
    let channel: Channel
    let arrivals: Watched<Int>

    static func bind(group: EventLoopGroup) async throws -> Peer {
        let arrivals = Watched(0)
        let channel = try await DatagramBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(CollectHandler(arrivals: arrivals))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return Peer(channel: channel, arrivals: arrivals)
    }

    func send(_ sequence: UInt32, to address: SocketAddress, size: Int = 64) async throws {
        var buffer = channel.allocator.buffer(capacity: size)
        buffer.writeInteger(sequence)
        buffer.writeInteger(NIODeadline.now().uptimeNanoseconds)
        buffer.writeRepeatingByte(0xAB, count: max(0, size - 12))
        try await channel.writeAndFlush(AddressedEnvelope(remoteAddress: address, data: buffer))
    }

    func received() async throws -> [(sequence: UInt32, sentAt: UInt64, receivedAt: UInt64)] {
        let channel = self.channel
        return try await channel.eventLoop.submit {
            try channel.pipeline.syncOperations.handler(type: CollectHandler.self).received.map { $0 }
        }.get()
    }

    /// Waits until `count` datagrams arrived or `timeout` passed (bounded), then returns them all.
    func waitFor(
        count: Int, timeoutMs: Int = 5000
    ) async throws -> [(sequence: UInt32, sentAt: UInt64, receivedAt: UInt64)] {
        // On a timeout the caller's expectations say what is missing.
        _ = try? await arrivals.wait(for: "\(count) datagrams", timeout: .milliseconds(timeoutMs)) { $0 >= count }
        return try await received()
    }
}

@Suite(.serialized) struct ImpairmentProxyTests {
    let group = MultiThreadedEventLoopGroup.singleton
    let loopbackAny = try! SocketAddress(ipAddress: "127.0.0.1", port: 0)
    let quietLogger: Logger = {
        var logger = Logger(label: "t2u.impair.test")
        logger.logLevel = .warning
        return logger
    }()

    private func echoServer() async throws -> Channel {
        try await DatagramBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(EchoHandler()) }
            }
            .bind(host: "127.0.0.1", port: 0).get()
    }

    private func proxy(
        to echo: Channel, up: LinkConditions = .perfect, down: LinkConditions = .perfect, seed: UInt64 = 1
    ) async throws -> ImpairmentProxy {
        try await ImpairmentProxy.start(
            group: group, listen: loopbackAny, upstream: echo.localAddress!,
            upstreamToClient: down, clientToUpstream: up, seed: seed, logger: quietLogger)
    }

    @Test func forwardsBothWaysForSeveralClients() async throws {
        let echo = try await echoServer()
        let proxy = try await proxy(to: echo)
        let a = try await Peer.bind(group: group)
        let b = try await Peer.bind(group: group)
        for i in 0..<50 {
            try await a.send(UInt32(i), to: proxy.localAddress)
            try await b.send(UInt32(1000 + i), to: proxy.localAddress)
        }
        let gotA = try await a.waitFor(count: 50)
        let gotB = try await b.waitFor(count: 50)
        #expect(Set(gotA.map(\.sequence)) == Set(0..<50))
        #expect(Set(gotB.map(\.sequence)) == Set(1000..<1050))
        // At least: other suites run in parallel, and a datagram one of them aims at a loopback
        // port it no longer owns can reach this proxy (seen once: 4 clients, 102 datagrams).
        let stats = try await proxy.stats
        #expect(stats.clients >= 2)
        #expect(stats.clientToUpstream.sent >= 100)
        #expect(stats.upstreamToClient.delivered >= 100)
        #expect(stats.upstreamToClient.delivered == stats.clientToUpstream.sent)
        try await proxy.stop()
        try await a.channel.close()
        try await b.channel.close()
        try await echo.close()
    }

    @Test func appliesDelayInEachDirection() async throws {
        let echo = try await echoServer()
        let proxy = try await proxy(
            to: echo, up: LinkConditions(delay: .milliseconds(30)),
            down: LinkConditions(delay: .milliseconds(20), jitter: .milliseconds(5)))
        let client = try await Peer.bind(group: group)
        for i in 0..<20 {
            try await client.send(UInt32(i), to: proxy.localAddress)
            // Spaced closer than the 5 ms jitter: the order check below then means something.
            try await Task.sleep(nanoseconds: 2_000_000)
        }
        let got = try await client.waitFor(count: 20)
        #expect(got.count == 20)
        for reply in got {
            let rttMs = Double(reply.receivedAt - reply.sentAt) / 1e6
            // At least the configured 50 ms; the upper bound only guards against no scheduling.
            #expect(rttMs >= 50 && rttMs < 1000, "rtt \(rttMs) ms")
        }
        // Jitter keeps order: replies arrive in the order sent.
        #expect(got.map(\.sequence) == (0..<20).map(UInt32.init))
        try await proxy.stop()
        try await client.channel.close()
        try await echo.close()
    }

    @Test(arguments: [UInt64(5), 6])
    func appliesLossMeasurably(seed: UInt64) async throws {
        let echo = try await echoServer()
        let proxy = try await proxy(to: echo, up: LinkConditions(lossRate: 0.5), seed: seed)
        let client = try await Peer.bind(group: group)
        // In bursts of 50, each read by the proxy before the next: no socket buffer overflows.
        // (The proxy announces no reads: its counters are polled.)
        for i in 0..<400 {
            try await client.send(UInt32(i), to: proxy.localAddress)
            if i % 50 == 49 {
                _ = try await eventually(timeout: .seconds(3)) {
                    try await proxy.stats.clientToUpstream.sent >= UInt64(i + 1)
                }
            }
        }
        let stats = try await proxy.stats
        let forwarded = Int(stats.clientToUpstream.delivered)
        let got = try await client.waitFor(count: forwarded, timeoutMs: 3000)
        #expect(stats.clientToUpstream.sent == 400, "seed \(seed)")
        // Expected 200, sigma 10: 120...280 is eight sigma either side.
        #expect((120...280).contains(forwarded), "seed \(seed): forwarded \(forwarded)")
        #expect(got.count == forwarded, "seed \(seed): echoed \(got.count) of \(forwarded)")
        try await proxy.stop()
        try await client.channel.close()
        try await echo.close()
    }

    @Test func bandwidthLimitStretchesABurst() async throws {
        // 4 Mbit/s: 50 datagrams of 1000 B take 100 ms to serialise.
        let echo = try await echoServer()
        let proxy = try await proxy(to: echo, down: LinkConditions(bandwidthBitsPerSecond: 4e6))
        let client = try await Peer.bind(group: group)
        for i in 0..<50 { try await client.send(UInt32(i), to: proxy.localAddress, size: 1000) }
        let got = try await client.waitFor(count: 50)
        #expect(got.count == 50)
        if let first = got.map(\.sentAt).min(), let last = got.map(\.receivedAt).max() {
            let spanMs = Double(last - first) / 1e6
            #expect(spanMs >= 95 && spanMs < 2000, "span \(spanMs) ms")
        }
        try await proxy.stop()
        try await client.channel.close()
        try await echo.close()
    }

    @Test func duplicatesAndReordersOnRequest() async throws {
        // Every reply duplicated; every other request held back 40 ms so the next ones overtake.
        let echo = try await echoServer()
        let proxy = try await proxy(
            to: echo, up: LinkConditions(reorderRate: 0.5, reorderDelay: .milliseconds(40)),
            down: LinkConditions(duplicateRate: 1), seed: 3)
        let client = try await Peer.bind(group: group)
        for i in 0..<40 { try await client.send(UInt32(i), to: proxy.localAddress) }
        let got = try await client.waitFor(count: 80)
        #expect(got.count == 80)
        #expect(Set(got.map(\.sequence)) == Set(0..<40))
        let stats = try await proxy.stats
        #expect(stats.upstreamToClient.duplicated == 40)
        #expect(stats.clientToUpstream.reordered > 5, "seed 3: reordered \(stats.clientToUpstream.reordered)")
        let order = got.map(\.sequence)
        #expect(order != order.sorted(), "seed 3: no reordering observed")
        try await proxy.stop()
        try await client.channel.close()
        try await echo.close()
    }

    @Test func idleClientGivesItsPlaceToANewOne() async throws {
        let echo = try await echoServer()
        let proxy = try await ImpairmentProxy.start(
            group: group, listen: loopbackAny, upstream: echo.localAddress!, upstreamToClient: .perfect,
            clientToUpstream: .perfect, seed: 1, maxClients: 1, clientIdleTimeout: .milliseconds(400),
            logger: quietLogger)
        let a = try await Peer.bind(group: group)
        let b = try await Peer.bind(group: group)
        try await a.send(1, to: proxy.localAddress)
        #expect(try await a.waitFor(count: 1).count == 1)
        try await b.send(2, to: proxy.localAddress)  // a is still active: no room
        try await until("b's datagram dropped", timeout: .seconds(5)) {
            try await proxy.stats.droppedTooManyClients >= 1
        }
        #expect(try await b.received().isEmpty)
        #expect(try await proxy.stats.droppedTooManyClients == 1)
        // The proxy's real idle timeout (400 ms) has to elapse for a.
        try await Task.sleep(nanoseconds: 500_000_000)
        try await b.send(3, to: proxy.localAddress)  // a has been idle for 500 ms > 400 ms
        let got = try await b.waitFor(count: 1)
        #expect(got.map(\.sequence) == [3])
        #expect(try await proxy.stats.clients == 2)
        try await proxy.stop()
        try await a.channel.close()
        try await b.channel.close()
        try await echo.close()
    }
}
