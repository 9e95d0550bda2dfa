// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import NIOPosix
import T2UCore
import Testing

@testable import T2UNIO

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Reads until EOF, then answers "world:" + what it read and half-closes.
final class ReplyAfterEOFHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    private var received = ByteBuffer()
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = Self.unwrapInboundIn(data)
        received.writeBuffer(&bytes)
    }
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard let event = event as? ChannelEvent, event == .inputClosed else { return }
        var reply = ByteBuffer(string: "world:")
        reply.writeBuffer(&received)
        let channel = context.channel
        context.writeAndFlush(Self.wrapOutboundOut(reply)).whenComplete { _ in
            channel.close(mode: .output, promise: nil)
        }
    }
}

/// How a TCP connection ended, seen from one side.
enum TCPEnding: Equatable, Sendable {
    case reset
    case eof
    case otherError(String)
}

/// Reports the first data and how the connection ended; can abort (RST) on request. Only
/// promises and a constant: the test holds it from anywhere.
final class ObservingHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    let firstData: EventLoopPromise<Channel>
    let ending: EventLoopPromise<TCPEnding>
    private let greeting: String?

    init(loop: EventLoop, greeting: String? = nil) {
        firstData = loop.makePromise()
        ending = loop.makePromise()
        self.greeting = greeting
    }

    func channelActive(context: ChannelHandlerContext) {
        if let greeting { context.writeAndFlush(Self.wrapOutboundOut(ByteBuffer(string: greeting)), promise: nil) }
        context.fireChannelActive()
    }
    func channelRead(context: ChannelHandlerContext, data: NIOAny) { firstData.succeed(context.channel) }
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed { ending.succeed(.eof) }
    }
    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if let io = error as? IOError, io.errnoCode == ECONNRESET {
            ending.succeed(.reset)
        } else {
            ending.succeed(.otherError("\(error)"))
        }
        context.close(promise: nil)
    }
    func channelInactive(context: ChannelHandlerContext) { ending.succeed(.eof) }
    func handlerRemoved(context: ChannelHandlerContext) {
        firstData.fail(ChannelError.ioOnClosedChannel)  // no-op when completed
        ending.succeed(.eof)
    }
}

/// Aborts `channel` with RST (SO_LINGER 0).
func abort(_ channel: Channel) async throws {
    let provider = try #require(channel as? SocketOptionProvider)
    try await provider.setSoLinger(linger(l_onoff: 1, l_linger: 0)).get()
    try await channel.close()
}

/// Pushes up to `total` bytes while the channel is writable; counts what NIO took.
final class CountingWriter: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    let total: Int
    private(set) var written = 0
    private let chunk = ByteBuffer(repeating: 0xA5, count: 64 * 1024)
    init(total: Int) { self.total = total }
    func channelActive(context: ChannelHandlerContext) { pump(context) }
    func channelWritabilityChanged(context: ChannelHandlerContext) { pump(context) }
    private func pump(_ context: ChannelHandlerContext) {
        while context.channel.isWritable, written < total {
            let n = min(chunk.readableBytes, total - written)
            context.write(Self.wrapOutboundOut(chunk.getSlice(at: 0, length: n) ?? chunk), promise: nil)
            written += n
        }
        context.flush()
        if written >= total { context.close(mode: .output, promise: nil) }
    }
}

/// Starts with reads off; counts bytes once reading is enabled.
final class SlowReader: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    private(set) var received = 0
    private(set) var channel: Channel?
    let connected: EventLoopPromise<Void>
    let eof: EventLoopPromise<Int>
    init(loop: EventLoop) {
        connected = loop.makePromise()
        eof = loop.makePromise()
    }
    func channelActive(context: ChannelHandlerContext) {
        channel = context.channel
        connected.succeed(())
    }
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        received += Self.unwrapInboundIn(data).readableBytes
    }
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed { eof.succeed(received) }
    }
    func channelInactive(context: ChannelHandlerContext) { eof.succeed(received) }
    func handlerRemoved(context: ChannelHandlerContext) {
        connected.fail(ChannelError.ioOnClosedChannel)
        eof.succeed(received)
    }
}

@Suite("Bridge", .serialized)
struct BridgeTests {
    @Test("half-close: the client's FIN reaches the target and the reply still comes back")
    func halfClosePropagates() async throws {
        let harness = TunnelHarness(seed: 11)
        let server = try await startServer(on: harness.tcpLoop) { ReplyAfterEOFHandler() }
        try await harness.start(target: server.localAddress!)
        let done = harness.tcpLoop.makePromise(of: ByteBuffer.self)
        _ = try await connectClient(to: harness.listenAddress!, on: harness.tcpLoop) {
            ExchangeClient(payload: ByteBuffer(string: "hello"), done: done)
        }
        let reply = try await done.futureResult.timeout(.seconds(20)).get()
        #expect(String(buffer: reply) == "world:hello")
        try await server.close()
        await harness.shutdown()
    }

    @Test("a TCP reset on the client side resets the target's connection")
    func clientResetReachesTarget() async throws {
        let tunnel = try await ObservedTunnel.open(seed: 12)
        try await abort(tunnel.client)
        #expect(try await tunnel.target.ending.futureResult.timeout(.seconds(20)).get() == .reset)
        try await tunnel.close()
    }

    @Test("a TCP reset by the target resets the client's connection")
    func targetResetReachesClient() async throws {
        let tunnel = try await ObservedTunnel.open(seed: 13)
        try await abort(tunnel.targetChannel)
        #expect(try await tunnel.clientHandler.ending.futureResult.timeout(.seconds(20)).get() == .reset)
        try await tunnel.close()
    }

    @Test("closing the tunnel's connection resets its TCP connections on both sides")
    func connectionCloseResetsBridges() async throws {
        let tunnel = try await ObservedTunnel.open(seed: 15)
        let service = try #require(tunnel.harness.clientService)
        try await service.flatSubmit { $0.close() }.get()
        #expect(try await tunnel.clientHandler.ending.futureResult.timeout(.seconds(20)).get() == .reset)
        #expect(try await tunnel.target.ending.futureResult.timeout(.seconds(20)).get() == .reset)
        let reason = try await service.flatSubmit { $0.closed }.timeout(.seconds(5)).get()
        #expect(reason == .local(errorCode: 0))
        try await tunnel.close()
    }

    @Test("a target that does not read stalls the sender (bounded buffering), then everything arrives")
    func slowReaderBackpressure() async throws {
        let harness = TunnelHarness(seed: 14)
        let total = 64 << 20
        let readerBox = SlowReaderBox()
        let server = try await ServerBootstrap(group: harness.tcpLoop)
            .childChannelOption(.autoRead, value: false)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(readerBox.make(channel.eventLoop))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        try await harness.start(target: server.localAddress!)
        let writerChannel = try await connectClient(to: harness.listenAddress!, on: harness.tcpLoop) {
            CountingWriter(total: total)
        }
        let writer = try await handler(CountingWriter.self, of: writerChannel)
        let reader = try await readerBox.handler.get()
        try await reader.flatSubmit { $0.connected.futureResult }.timeout(.seconds(20)).get()

        // Wait until the sender stops making progress (bounded: 10 s).
        var last = -1
        var stalledFor = 0
        for _ in 0..<100 {
            // Sampled over real time: progress that stops for 1 s is what is measured.
            try await Task.sleep(for: .milliseconds(100))
            let now = try await writer.submit { $0.written }.get()
            stalledFor = now == last ? stalledFor + 1 : 0
            last = now
            if stalledFor >= 10 { break }
        }
        #expect(stalledFor >= 10, "sender never stalled (wrote \(last) bytes)")
        // What may sit in between: kernel socket buffers of the two loopback TCP legs (a few MB
        // each), NIO's write watermarks, the stream send buffer and receive window (~12.5 MB
        // observed). Without backpressure all 64 MB is taken.
        #expect(last < 24 << 20, "sender buffered \(last) bytes before stalling")

        // Now read: every byte arrives.
        try await reader.submit { reader in
            try reader.channel?.syncOptions?.setOption(.autoRead, value: true)
            reader.channel?.read()
        }.get()
        let received = try await reader.flatSubmit { $0.eof.futureResult }.timeout(.seconds(60)).get()
        #expect(received == total)
        try await server.close()
        await harness.shutdown()
    }
}

/// One TCP connection through a fresh tunnel to an observed target, after one byte crossed it, so
/// both TCP ends exist when the test starts to break things.
struct ObservedTunnel {
    let harness: TunnelHarness
    let server: Channel
    let client: Channel
    let clientHandler: ObservingHandler
    let target: ObservingHandler
    let targetChannel: Channel

    static func open(seed: UInt64) async throws -> ObservedTunnel {
        let harness = TunnelHarness(seed: seed)
        let box = ObservingHandlerBox()
        let server = try await startServer(on: harness.tcpLoop) { box.make(harness.tcpLoop) }
        try await harness.start(target: server.localAddress!)
        let clientHandler = ObservingHandler(loop: harness.tcpLoop)
        let client = try await connectClient(to: harness.listenAddress!, on: harness.tcpLoop) { clientHandler }
        try await client.writeAndFlush(ByteBuffer(string: "x"))
        let target = try await box.handler.get()
        let targetChannel = try await target.firstData.futureResult.timeout(.seconds(20)).get()
        return ObservedTunnel(
            harness: harness, server: server, client: client, clientHandler: clientHandler,
            target: target, targetChannel: targetChannel)
    }

    func close() async throws {
        try await server.close()
        await harness.shutdown()
    }
}

/// Hands the test the handler of the (single) accepted connection.
final class ObservingHandlerBox: Sendable {
    private let promise = MultiThreadedEventLoopGroup.singleton.next().makePromise(of: ObservingHandler.self)
    var handler: EventLoopFuture<ObservingHandler> { promise.futureResult }
    func make(_ loop: EventLoop) -> ObservingHandler {
        let handler = ObservingHandler(loop: loop)
        promise.succeed(handler)
        return handler
    }
}

/// Hands the test the reader of the (single) accepted connection, reachable on its loop.
final class SlowReaderBox: Sendable {
    private let promise = MultiThreadedEventLoopGroup.singleton.next().makePromise(of: LoopOwned<SlowReader>.self)
    var handler: EventLoopFuture<LoopOwned<SlowReader>> { promise.futureResult }
    /// Call on `loop` (the channel initializer's).
    func make(_ loop: EventLoop) -> SlowReader {
        let handler = SlowReader(loop: loop)
        promise.succeed(LoopOwned(handler, eventLoop: loop))
        return handler
    }
}
