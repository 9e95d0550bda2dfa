// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Logging
import NIOCore
import NIOEmbedded
import T2UCore
import T2USim
import Testing

@testable import T2UImpair

/// The proxy's client-side and upstream-side handlers back to back in `EmbeddedChannel`s (the
/// core's `openUpstream` hook hands out embedded channels instead of UDP sockets): forwarding
/// both ways, one upstream channel per client, the backlog while one opens, and the datagrams
/// the proxy drops. No sockets.
@Suite struct ImpairHandlerTests {
    static let upstream = try! SocketAddress(ipAddress: "192.0.2.1", port: 9000)
    static let alice = try! SocketAddress(ipAddress: "198.51.100.7", port: 40000)
    static let bob = try! SocketAddress(ipAddress: "198.51.100.8", port: 40001)
    typealias Envelope = AddressedEnvelope<ByteBuffer>

    /// One proxy core on an embedded loop, its listening channel and the upstream channels it opened.
    final class Harness {
        let loop: EmbeddedEventLoop
        let core: ProxyCore
        let listen: EmbeddedChannel
        var upstreams: [EmbeddedChannel] = []
        /// When set, new upstream channels open only once the test completes this promise.
        var pendingOpen: EventLoopPromise<Channel>?
        var holdOpen = false

        init(
            maxClients: Int = 8, toUpstream: LinkConditions = .init(), toClient: LinkConditions = .init()
        ) throws {
            let loop = EmbeddedEventLoop()
            let core = ProxyCore(
                loop: loop, upstream: ImpairHandlerTests.upstream, clientToUpstream: toUpstream,
                upstreamToClient: toClient, seed: 1, maxClients: maxClients, maxDatagramSize: 2048,
                clientIdleTimeout: .seconds(60), logger: Harness.quiet)
            let listen = EmbeddedChannel(handler: ClientSideHandler(core: core), loop: loop)
            core.listenChannel = listen
            self.loop = loop
            self.core = core
            self.listen = listen
            core.openUpstream = { [unowned self] client in
                let channel = EmbeddedChannel(
                    handler: UpstreamSideHandler(core: self.core, client: client), loop: self.loop)
                self.upstreams.append(channel)
                guard self.holdOpen else { return self.loop.makeSucceededFuture(channel as Channel) }
                let promise = self.loop.makePromise(of: Channel.self)
                self.pendingOpen = promise
                return promise.futureResult
            }
        }

        /// The core logs each new client at info: not worth a line per test here.
        static let quiet: Logger = {
            var logger = Logger(label: "t2u.impair.test")
            logger.logLevel = .warning
            return logger
        }()

        func fromClient(_ client: SocketAddress, _ bytes: [UInt8]) throws {
            try listen.writeInbound(Envelope(remoteAddress: client, data: ByteBuffer(bytes: bytes)))
        }

        /// What went out of the listening channel (to clients) or an upstream channel.
        static func sent(_ channel: EmbeddedChannel) throws -> [(SocketAddress, [UInt8])] {
            var out: [(SocketAddress, [UInt8])] = []
            while let envelope = try channel.readOutbound(as: Envelope.self) {
                out.append((envelope.remoteAddress, Array(envelope.data.readableBytesView)))
            }
            return out
        }

        func finish() throws {
            _ = try core.closeAll().wait()
        }
    }

    @Test func aClientsDatagramGoesUpstreamAndTheReplyComesBack() throws {
        let proxy = try Harness()
        try proxy.fromClient(Self.alice, [1, 2, 3])
        #expect(proxy.upstreams.count == 1)
        let up = try Harness.sent(proxy.upstreams[0])
        #expect(up.map(\.0) == [Self.upstream])
        #expect(up.map(\.1) == [[1, 2, 3]])

        try proxy.upstreams[0].writeInbound(Envelope(remoteAddress: Self.upstream, data: ByteBuffer(bytes: [9])))
        let down = try Harness.sent(proxy.listen)
        #expect(down.map(\.0) == [Self.alice])
        #expect(down.map(\.1) == [[9]])
        #expect(proxy.core.stats.clients == 1)
        #expect(proxy.core.stats.clientToUpstream.delivered == 1)
        #expect(proxy.core.stats.upstreamToClient.delivered == 1)
        try proxy.finish()
    }

    /// Each client gets its own upstream channel, so each reply finds its own client.
    @Test func eachClientHasItsOwnUpstreamChannel() throws {
        let proxy = try Harness()
        try proxy.fromClient(Self.alice, [1])
        try proxy.fromClient(Self.bob, [2])
        try proxy.fromClient(Self.alice, [3])
        #expect(proxy.upstreams.count == 2)
        #expect(try Harness.sent(proxy.upstreams[0]).map(\.1) == [[1], [3]])
        #expect(try Harness.sent(proxy.upstreams[1]).map(\.1) == [[2]])

        try proxy.upstreams[1].writeInbound(Envelope(remoteAddress: Self.upstream, data: ByteBuffer(bytes: [20])))
        try proxy.upstreams[0].writeInbound(Envelope(remoteAddress: Self.upstream, data: ByteBuffer(bytes: [10])))
        let down = try Harness.sent(proxy.listen)
        #expect(down.map(\.0) == [Self.bob, Self.alice])
        #expect(down.map(\.1) == [[20], [10]])
        try proxy.finish()
    }

    /// Datagrams that arrive while the client's upstream channel opens wait for it, in order.
    @Test func theBacklogIsSentOnceTheUpstreamChannelIsOpen() throws {
        let proxy = try Harness()
        proxy.holdOpen = true
        for byte in UInt8(1)...4 { try proxy.fromClient(Self.alice, [byte]) }
        #expect(try Harness.sent(proxy.upstreams[0]).isEmpty)
        proxy.pendingOpen?.succeed(proxy.upstreams[0])
        #expect(try Harness.sent(proxy.upstreams[0]).map(\.1) == [[1], [2], [3], [4]])
        try proxy.finish()
    }

    @Test func aReplyFromAnyoneButTheUpstreamIsDropped() throws {
        let proxy = try Harness()
        try proxy.fromClient(Self.alice, [1])
        let stranger = try SocketAddress(ipAddress: "203.0.113.5", port: 9000)
        try proxy.upstreams[0].writeInbound(Envelope(remoteAddress: stranger, data: ByteBuffer(bytes: [66])))
        #expect(try Harness.sent(proxy.listen).isEmpty)
        #expect(proxy.core.stats.droppedForeign == 1)
        try proxy.finish()
    }

    @Test func aClientBeyondTheLimitIsDropped() throws {
        let proxy = try Harness(maxClients: 1)
        try proxy.fromClient(Self.alice, [1])
        try proxy.fromClient(Self.bob, [2])
        #expect(proxy.upstreams.count == 1)
        #expect(try Harness.sent(proxy.upstreams[0]).map(\.1) == [[1]])
        #expect(proxy.core.stats.droppedTooManyClients == 1)
        try proxy.finish()
    }

    /// The link model applies per direction: here everything toward upstream is lost.
    @Test func aLossyDirectionDropsOnlyItsOwnTraffic() throws {
        let proxy = try Harness(toUpstream: LinkConditions(lossRate: 1))
        try proxy.fromClient(Self.alice, [1])
        #expect(try Harness.sent(proxy.upstreams[0]).isEmpty)
        try proxy.upstreams[0].writeInbound(Envelope(remoteAddress: Self.upstream, data: ByteBuffer(bytes: [2])))
        #expect(try Harness.sent(proxy.listen).map(\.1) == [[2]])
        #expect(proxy.core.stats.clientToUpstream.droppedRandom == 1)
        try proxy.finish()
    }

    /// A delayed direction schedules its deliveries on the loop; they go out when due.
    @Test func aDelayedDatagramGoesOutWhenDue() throws {
        let proxy = try Harness(toClient: LinkConditions(delay: .milliseconds(50)))
        try proxy.fromClient(Self.alice, [1])
        try proxy.upstreams[0].writeInbound(Envelope(remoteAddress: Self.upstream, data: ByteBuffer(bytes: [2])))
        #expect(try Harness.sent(proxy.listen).isEmpty, "not before its delay")
        // The model's instants are the real monotonic clock; the embedded loop's is virtual.
        proxy.loop.advanceTime(to: .now() + .seconds(1))
        #expect(try Harness.sent(proxy.listen).map(\.1) == [[2]])
        try proxy.finish()
    }

    /// A socket error concerns one datagram: both handlers keep serving (and swallow it).
    @Test func errorsDoNotStopEitherSide() throws {
        struct Unreachable: Error {}
        let proxy = try Harness()
        try proxy.fromClient(Self.alice, [1])
        proxy.listen.pipeline.fireErrorCaught(Unreachable())
        proxy.upstreams[0].pipeline.fireErrorCaught(Unreachable())
        try proxy.fromClient(Self.alice, [2])
        try proxy.upstreams[0].writeInbound(Envelope(remoteAddress: Self.upstream, data: ByteBuffer(bytes: [3])))
        #expect(try Harness.sent(proxy.upstreams[0]).map(\.1) == [[1], [2]])
        #expect(try Harness.sent(proxy.listen).map(\.1) == [[3]])
        try proxy.finish()
    }

    /// After stop the core forwards nothing and opens no upstream channel.
    @Test func nothingIsForwardedAfterStop() throws {
        let proxy = try Harness()
        try proxy.fromClient(Self.alice, [1])
        _ = try Harness.sent(proxy.upstreams[0])
        try proxy.finish()
        proxy.core.fromClient(Envelope(remoteAddress: Self.bob, data: ByteBuffer(bytes: [2])))
        #expect(proxy.upstreams.count == 1)
        #expect(proxy.core.stats.clientToUpstream.sent == 1)
    }
}
