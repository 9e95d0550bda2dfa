// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Logging
import NIOCore
import NIOPosix
import Synchronization
import T2UCore
import T2UTestSupport
import Testing

@testable import T2UNIO

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Two endpoint drivers on loopback (own loops), a client TunnelService listening on a local
/// port and a device TunnelService connecting each stream to `target`.
final class TunnelHarness: Sendable {
    /// One endpoint and what the test keeps of it, on that endpoint's loop.
    final class Side {
        let driver: EndpointDriver
        /// Device: the service for the one connection.
        var service: TunnelService?
        /// Client: the `onTargetReply` reports, in order.
        var targetReplies: [(StreamTargetHeader, StreamTargetReply.Status)] = []
        init(driver: EndpointDriver) { self.driver = driver }
    }

    let group = MultiThreadedEventLoopGroup(numberOfThreads: 3)
    let client: LoopOwned<Side>
    let device: LoopOwned<Side>
    let tcpLoop: EventLoop
    /// Set by `start`/`listen`, read by the test (its own task, but the harness is shared).
    private let state = Mutex<(clientService: LoopOwned<TunnelService>?, listenAddress: SocketAddress?)>((nil, nil))
    var clientService: LoopOwned<TunnelService>? { state.withLock { $0.clientService } }
    var listenAddress: SocketAddress? { state.withLock { $0.listenAddress } }

    /// T2U_TEST_LOG=debug (etc.) shows the shell's logs.
    static let logging: Void = {
        if let level = ProcessInfoLite.environment("T2U_TEST_LOG").flatMap(Logger.Level.init(rawValue:)) {
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
        }
    }()

    init(seed: UInt64, config: TransportConfig = TransportConfig()) {
        _ = Self.logging
        let loops = Array(group.makeIterator())
        tcpLoop = loops[0]
        let seeds = SeededEntropy(seed: seed)
        let deviceIdentity = StaticIdentity.generate(seeds)
        let clientIdentity = StaticIdentity.generate(seeds)
        device = LoopOwned(
            sending: Side(
                driver: EndpointDriver(
                    endpoint: TransportEndpoint(
                        options: .init(config: config, identity: deviceIdentity, acceptIncoming: true),
                        entropy: SeededEntropy(seed: seed &+ 1)),
                    eventLoop: loops[2])),
            eventLoop: loops[2])
        client = LoopOwned(
            sending: Side(
                driver: EndpointDriver(
                    endpoint: TransportEndpoint(
                        options: .init(config: config, identity: clientIdentity, acceptIncoming: false),
                        entropy: SeededEntropy(seed: seed &+ 2)),
                    eventLoop: loops[1])),
            eventLoop: loops[1])
        deviceKey = deviceIdentity.publicKey
    }

    private let deviceKey: [UInt8]

    /// Starts both sides and listens locally with `target` requested from the device.
    func start(target: SocketAddress, udp: UDPEndpoint.Configuration = .init()) async throws {
        try await start(udp: udp)
        let address = try await listen(target: try Self.header(for: target))
        state.withLock { $0.listenAddress = address }
    }

    /// Starts both sides; the device serves streams under `policy`.
    func start(
        policy: ForwardingPolicy = .deviceOnly, headerTimeout: TimeAmount = .seconds(5),
        udp: UDPEndpoint.Configuration = .init()
    ) async throws {
        let deviceAddress = try await device.flatSubmit { $0.driver.start(udp: udp) }.get()
        _ = try await client.flatSubmit { $0.driver.start(udp: udp) }.get()
        try await device.submit { side in
            side.driver.onAccept = { connection in
                let service = TunnelService(driver: side.driver, connection: connection)
                service.serveIncomingStreams(policy: policy, headerTimeout: headerTimeout)
                side.service = service
            }
        }.get()
        let key = deviceKey
        let service = try await client.submit { side in
            let client = side.driver
            let service = TunnelService(
                driver: client, connection: try client.connect(to: deviceAddress, remoteStaticKey: key, password: nil))
            service.onTargetReply = { header, status in side.targetReplies.append((header, status)) }
            return LoopOwned(service, eventLoop: client.eventLoop)
        }.get()
        try await service.flatSubmit { $0.established }.get()
        state.withLock { $0.clientService = service }
    }

    /// A local port whose connections ask the device for `target`.
    func listen(target: StreamTargetHeader) async throws -> SocketAddress {
        let service = try #require(clientService)
        return try await service.flatSubmit { $0.listen(target: target) }.get()
    }

    static func header(for address: SocketAddress) throws -> StreamTargetHeader {
        let target = try #require(NetAddress(address))
        return StreamTargetHeader(host: .address(target.host), port: target.port)
    }

    func replies() async throws -> [StreamTargetReply.Status] {
        try await client.submit { $0.targetReplies.map(\.1) }.get()
    }

    func shutdown() async {
        _ = try? await client.flatSubmit { $0.driver.close() }.get()
        _ = try? await device.flatSubmit { $0.driver.close() }.get()
        try? await group.shutdownGracefully()
    }
}

enum ProcessInfoLite {
    static func environment(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }
}

/// Seeded pseudo-random payload.
func seededBytes(_ count: Int, seed: UInt64) -> ByteBuffer {
    let entropy = SeededEntropy(seed: seed)
    var buffer = ByteBufferAllocator().buffer(capacity: count)
    var remaining = count
    while remaining > 0 {
        var word = entropy.nextUInt64()
        let n = min(8, remaining)
        _ = withUnsafeBytes(of: &word) { buffer.writeBytes($0.prefix(n)) }
        remaining -= n
    }
    return buffer
}

/// Writes `payload` (respecting writability), half-closes, collects what comes back until EOF.
final class ExchangeClient: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    private var payload: ByteBuffer
    private var received: ByteBuffer
    private let done: EventLoopPromise<ByteBuffer>
    private var outputClosed = false
    private(set) var sawError: Error?
    private let chunk = 64 * 1024

    init(payload: ByteBuffer, done: EventLoopPromise<ByteBuffer>) {
        self.payload = payload
        self.done = done
        self.received = ByteBufferAllocator().buffer(capacity: payload.readableBytes)
    }

    func channelActive(context: ChannelHandlerContext) { pump(context) }
    func channelWritabilityChanged(context: ChannelHandlerContext) { pump(context) }

    private func pump(_ context: ChannelHandlerContext) {
        while context.channel.isWritable, payload.readableBytes > 0,
            let slice = payload.readSlice(length: min(chunk, payload.readableBytes))
        {
            context.write(Self.wrapOutboundOut(slice), promise: nil)
        }
        context.flush()
        if payload.readableBytes == 0 && !outputClosed {
            outputClosed = true
            context.close(mode: .output, promise: nil)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = Self.unwrapInboundIn(data)
        received.writeBuffer(&bytes)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed {
            done.succeed(received)
            context.close(promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        sawError = error
        done.fail(error)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        // After our own output half-close NIO reports the peer's EOF as a full close.
        if outputClosed && sawError == nil {
            done.succeed(received)
        } else {
            done.fail(ChannelError.eof)  // no-op when already completed
        }
    }
}

/// Echoes; on EOF, flushes and half-closes its output.
final class HalfCloseEchoHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    func channelRead(context: ChannelHandlerContext, data: NIOAny) { context.write(data, promise: nil) }
    func channelReadComplete(context: ChannelHandlerContext) { context.flush() }
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed {
            let channel = context.channel
            context.writeAndFlush(Self.wrapOutboundOut(ByteBuffer())).whenComplete { _ in
                channel.close(mode: .output, promise: nil)
            }
        }
    }
    func errorCaught(context: ChannelHandlerContext, error: Error) { context.close(promise: nil) }
}

/// `makeHandler` runs on each accepted channel's loop: the handler is made where it lives.
func startServer(
    on loop: EventLoop, _ makeHandler: @escaping @Sendable () -> ChannelHandler
) async throws -> Channel {
    try await ServerBootstrap(group: loop)
        .childChannelOption(.allowRemoteHalfClosure, value: true)
        .childChannelInitializer { channel in
            channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(makeHandler()) }
        }
        .bind(host: "127.0.0.1", port: 0).get()
}

/// `makeHandler` runs on `loop`, in the channel initializer.
func connectClient(
    to address: SocketAddress, on loop: EventLoop, _ makeHandler: @escaping @Sendable () -> ChannelHandler
) async throws -> Channel {
    try await ClientBootstrap(group: loop)
        .channelOption(.allowRemoteHalfClosure, value: true)
        .channelInitializer { channel in
            channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(makeHandler()) }
        }
        .connect(to: address).get()
}

/// The `Handler` in `channel`'s pipeline, to be read on the channel's loop.
func handler<Handler: ChannelHandler & SendableMetatype>(
    _ type: Handler.Type, of channel: Channel
) async throws -> LoopOwned<Handler> {
    try await channel.eventLoop.submit {
        LoopOwned(try channel.pipeline.syncOperations.handler(type: Handler.self), eventLoop: channel.eventLoop)
    }.get()
}

extension EventLoopFuture where Value: Sendable {
    func timeout(_ amount: TimeAmount) -> EventLoopFuture<Value> {
        let promise = eventLoop.makePromise(of: Value.self)
        let task = eventLoop.scheduleTask(in: amount) { promise.fail(ChannelError.connectTimeout(amount)) }
        whenComplete { result in
            task.cancel()
            promise.completeWith(result)
        }
        return promise.futureResult
    }
}

@Suite("Tunnel", .serialized)
struct TunnelTests {
    @Test(
        "several concurrent TCP connections cross the tunnel byte-exact, both ways",
        arguments: [OffloadMode.auto, OffloadMode.disabled])
    func concurrentConnectionsByteExact(offload: OffloadMode) async throws {
        let seed: UInt64 = 7
        let harness = TunnelHarness(seed: seed)
        let echo = try await startServer(on: harness.tcpLoop) { HalfCloseEchoHandler() }
        var udp = UDPEndpoint.Configuration()
        udp.segmentationOffload = offload
        udp.receiveOffload = offload
        try await harness.start(target: echo.localAddress!, udp: udp)
        let listen = try #require(harness.listenAddress)

        let sizes = [3 << 20, 1 << 20, 2 << 20, 777_777, 1]
        var futures: [(ByteBuffer, EventLoopFuture<ByteBuffer>)] = []
        for (i, size) in sizes.enumerated() {
            let payload = seededBytes(size, seed: seed &+ UInt64(i))
            let done = harness.tcpLoop.makePromise(of: ByteBuffer.self)
            _ = try await connectClient(to: listen, on: harness.tcpLoop) {
                ExchangeClient(payload: payload, done: done)
            }
            futures.append((payload, done.futureResult.timeout(.seconds(60))))
        }
        for (i, (payload, future)) in futures.enumerated() {
            let echoed = try await future.get()
            #expect(echoed.readableBytes == payload.readableBytes, "connection \(i) seed \(seed)")
            #expect(echoed == payload, "connection \(i) differs, seed \(seed)")
        }
        // All bridges are gone once both directions finished.
        let service = try #require(harness.clientService)
        // No event announces a bridge's end: the count is polled.
        #expect(
            try await eventually(timeout: .seconds(5)) { try await service.submit { $0.activeBridgeCount }.get() == 0 })
        try await echo.close()
        await harness.shutdown()
    }
}
