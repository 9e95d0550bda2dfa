// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

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

/// Counts accepted connections and runs `makeHandler` on each.
final class CountingServer: Sendable {
    /// Set once bound.
    private let bound = Mutex<Channel?>(nil)
    var channel: Channel { bound.withLock { $0! } }
    private let count = Mutex(0)

    func accepted() async throws -> Int {
        count.withLock { $0 }
    }

    init(host: String, on loop: EventLoop, _ makeHandler: @escaping @Sendable () -> ChannelHandler) async throws {
        let channel = try await ServerBootstrap(group: loop)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelInitializer { channel in
                self.count.withLock { $0 += 1 }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(makeHandler())
                }
            }
            .bind(host: host, port: 0).get()
        bound.withLock { $0 = channel }
    }

    var port: UInt16 { UInt16(channel.localAddress?.port ?? 0) }
}

/// Sends `greeting` (if any), then records what arrives and how the connection ended.
final class EndWatcher: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    /// `.eof`: a clean FIN (half-closure is on, so it is always seen as `inputClosed`).
    /// `.reset`: ECONNRESET/EPIPE, or the channel went away without a FIN (NIO may surface an
    /// RST only as a failed write and a close).
    enum End: Equatable, Sendable { case eof, reset, otherError }

    private let greeting: ByteBuffer?
    private(set) var received = ByteBuffer()
    let ended: EventLoopPromise<End>
    let receivedFirst: EventLoopPromise<ByteBuffer>
    /// How many bytes arrived so far, for tests that wait for a whole message.
    let receivedBytes: Watched<Int>
    private var end: End = .reset
    private var sawError = false
    private var outputClosed = false

    init(
        greeting: ByteBuffer?, ended: EventLoopPromise<End>, receivedFirst: EventLoopPromise<ByteBuffer>,
        receivedBytes: Watched<Int>
    ) {
        self.greeting = greeting
        self.ended = ended
        self.receivedFirst = receivedFirst
        self.receivedBytes = receivedBytes
    }

    func channelActive(context: ChannelHandlerContext) {
        if let greeting { context.writeAndFlush(Self.wrapOutboundOut(greeting), promise: nil) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = Self.unwrapInboundIn(data)
        received.writeBuffer(&bytes)
        receivedFirst.succeed(received)
        receivedBytes.set(received.readableBytes)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed {
            end = .eof
            context.close(promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if let error = error as? IOError, error.errnoCode == ECONNRESET || error.errnoCode == EPIPE {
            end = .reset
        } else {
            end = .otherError
        }
        sawError = true
        context.close(promise: nil)
    }

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        if mode == .output { outputClosed = true }
        context.close(mode: mode, promise: promise)
    }

    func channelInactive(context: ChannelHandlerContext) {
        // After our own output half-close NIO reports the peer's FIN as a full close.
        if outputClosed && !sawError { end = .eof }
        finish(end)
    }

    private var finished = false

    /// Completes both promises once (the connection may also end before it was ever active).
    func finish(_ end: End) {
        guard !finished else { return }
        finished = true
        ended.succeed(end)
        receivedFirst.fail(ChannelError.eof)
    }

}

/// An `EndWatcher` seen from the test: its promises, and the handler itself on its loop.
struct EndWatch: Sendable {
    let ended: EventLoopPromise<EndWatcher.End>
    let receivedFirst: EventLoopPromise<ByteBuffer>
    let receivedBytes = Watched(0)
    private let handler: LoopOwned<EndWatcher>

    init(greeting: ByteBuffer?, loop: EventLoop) {
        ended = loop.makePromise()
        receivedFirst = loop.makePromise()
        handler = LoopOwned(
            sending: EndWatcher(
                greeting: greeting, ended: ended, receivedFirst: receivedFirst, receivedBytes: receivedBytes),
            eventLoop: loop)
    }

    /// What arrived so far.
    func received() async throws -> ByteBuffer {
        try await handler.submit { $0.received }.get()
    }

    /// Connects with the watcher (once; it runs on `loop`).
    func channel(to address: SocketAddress, on loop: EventLoop) async throws -> Channel {
        let handler = self.handler
        return try await connectClient(to: address, on: loop) { handler.value }
    }

    /// Connects with the watcher. On loopback a refusal can be so fast that the RST beats NIO's
    /// connect completion: the connect then fails with ECONNRESET, which is the reset we watch for.
    func connect(to address: SocketAddress, on loop: EventLoop) async throws {
        do {
            _ = try await channel(to: address, on: loop)
        } catch let error as IOError where error.errnoCode == ECONNRESET || error.errnoCode == EPIPE {
            try await handler.submit { $0.finish(.reset) }.get()
        }
    }
}

/// Speaks first (a banner on connect), then echoes and half-closes on EOF.
final class BannerEchoHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    static let banner = "220 t2u test service ready\r\n"
    private let echo = HalfCloseEchoHandler()

    func channelActive(context: ChannelHandlerContext) {
        context.writeAndFlush(Self.wrapOutboundOut(ByteBuffer(string: Self.banner)), promise: nil)
    }
    func channelRead(context: ChannelHandlerContext, data: NIOAny) { echo.channelRead(context: context, data: data) }
    func channelReadComplete(context: ChannelHandlerContext) { context.flush() }
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        echo.userInboundEventTriggered(context: context, event: event)
    }
    func errorCaught(context: ChannelHandlerContext, error: Error) { context.close(promise: nil) }
}

@Suite("Target forwarding", .serialized)
struct TargetForwardingTests {
    /// 127.0.0.2 where the OS lets us bind it (Linux), else nil.
    static func secondLoopback(on loop: EventLoop) async -> String? {
        guard let probe = try? await ServerBootstrap(group: loop).bind(host: "127.0.0.2", port: 0).get() else {
            return nil
        }
        try? await probe.close()
        return "127.0.0.2"
    }

    static func v4Host(_ text: String) throws -> NetAddress.Host {
        try #require(NetAddress(ipv4: text, port: 0)).host
    }

    @Test("a stream to an allowed LAN host (127.0.0.2) is forwarded byte-exact")
    func forwardsToAllowedHost() async throws {
        let seed: UInt64 = 21
        let harness = TunnelHarness(seed: seed)
        let host = await Self.secondLoopback(on: harness.tcpLoop) ?? "127.0.0.1"
        let service = try await CountingServer(host: host, on: harness.tcpLoop) { HalfCloseEchoHandler() }
        try await harness.start(policy: ForwardingPolicy(entries: ["\(host):\(service.port)"]))
        let listen = try await harness.listen(
            target: StreamTargetHeader(host: .address(try Self.v4Host(host)), port: service.port))

        let payload = seededBytes(1 << 20, seed: seed)
        let done = harness.tcpLoop.makePromise(of: ByteBuffer.self)
        _ = try await connectClient(to: listen, on: harness.tcpLoop) { ExchangeClient(payload: payload, done: done) }
        let echoed = try await done.futureResult.timeout(.seconds(30)).get()
        #expect(echoed == payload, "seed \(seed), host \(host)")
        #expect(try await harness.replies() == [.ok])
        #expect(try await service.accepted() == 1)
        try await service.channel.close()
        await harness.shutdown()
    }

    @Test("an IPv6 target (::1, the device itself) is forwarded")
    func forwardsToIPv6() async throws {
        let seed: UInt64 = 26
        let harness = TunnelHarness(seed: seed)
        guard let service = try? await CountingServer(host: "::1", on: harness.tcpLoop, { HalfCloseEchoHandler() })
        else {
            await harness.shutdown()
            return  // no IPv6 loopback here
        }
        try await harness.start()
        let listen = try await harness.listen(target: StreamTargetHeader(host: .address(.v6(0, 1)), port: service.port))
        let payload = seededBytes(100_000, seed: seed)
        let done = harness.tcpLoop.makePromise(of: ByteBuffer.self)
        _ = try await connectClient(to: listen, on: harness.tcpLoop) { ExchangeClient(payload: payload, done: done) }
        #expect(try await done.futureResult.timeout(.seconds(30)).get() == payload, "seed \(seed)")
        #expect(try await harness.replies() == [.ok])
        #expect(try await service.accepted() == 1)
        try await service.channel.close()
        await harness.shutdown()
    }

    @Test("a target the policy refuses: the local TCP connection is reset quickly, the target never contacted")
    func refusedByPolicy() async throws {
        let harness = TunnelHarness(seed: 22)
        let host = await Self.secondLoopback(on: harness.tcpLoop)
        // Without a second loopback address, refuse a documentation address nobody listens on.
        let service = try await CountingServer(host: host ?? "127.0.0.1", on: harness.tcpLoop) {
            HalfCloseEchoHandler()
        }
        let targetHost = try Self.v4Host(host ?? "192.0.2.1")
        try await harness.start(policy: ForwardingPolicy(entries: ["\(host ?? "192.0.2.1"):\(service.port &+ 1)"]))
        let listen = try await harness.listen(
            target: StreamTargetHeader(host: .address(targetHost), port: service.port))

        let watcher = EndWatch(greeting: ByteBuffer(string: "GET / HTTP/1.0\r\n\r\n"), loop: harness.tcpLoop)
        let started = NIODeadline.now()
        try await watcher.connect(to: listen, on: harness.tcpLoop)
        let end = try await watcher.ended.futureResult.timeout(.seconds(3)).get()
        #expect(end == .reset)
        #expect(NIODeadline.now() - started < .seconds(2))
        #expect(try await watcher.received().readableBytes == 0)
        #expect(try await harness.replies() == [.refusedByPolicy])
        #expect(try await service.accepted() == 0)
        try await expectDeviceSettles(harness)
        try await service.channel.close()
        await harness.shutdown()
    }

    @Test("a target where nothing listens (ECONNREFUSED): reset quickly, reported as connection refused")
    func connectRefused() async throws {
        let harness = TunnelHarness(seed: 23)
        let closed = try await CountingServer(host: "127.0.0.1", on: harness.tcpLoop) { HalfCloseEchoHandler() }
        let port = closed.port
        try await closed.channel.close()
        try await harness.start()
        let listen = try await harness.listen(target: .deviceSelf(port: port))

        let watcher = EndWatch(greeting: ByteBuffer(string: "hello"), loop: harness.tcpLoop)
        let started = NIODeadline.now()
        try await watcher.connect(to: listen, on: harness.tcpLoop)
        let end = try await watcher.ended.futureResult.timeout(.seconds(3)).get()
        #expect(end == .reset)
        #expect(NIODeadline.now() - started < .seconds(2))
        #expect(try await harness.replies() == [.connectionRefused])
        try await expectDeviceSettles(harness)
        await harness.shutdown()
    }

    @Test("server speaks first: the banner reaches a client that has sent nothing")
    func serverSpeaksFirst() async throws {
        let harness = TunnelHarness(seed: 24)
        let service = try await CountingServer(host: "127.0.0.1", on: harness.tcpLoop) { BannerEchoHandler() }
        try await harness.start()
        let listen = try await harness.listen(target: .deviceSelf(port: service.port))

        let watcher = EndWatch(greeting: nil, loop: harness.tcpLoop)
        let channel = try await watcher.channel(to: listen, on: harness.tcpLoop)
        // The banner may arrive in pieces; wait for all of it.
        try await watcher.receivedBytes.wait(for: "the whole banner", timeout: .seconds(5)) {
            $0 >= BannerEchoHandler.banner.utf8.count
        }
        let banner = try await watcher.received()
        #expect(banner.getString(at: banner.readerIndex, length: banner.readableBytes) == BannerEchoHandler.banner)
        // Then the conversation goes on both ways.
        try await channel.writeAndFlush(ByteBuffer(string: "QUIT\r\n"))
        try await channel.close(mode: .output)
        #expect(try await watcher.ended.futureResult.timeout(.seconds(5)).get() == .eof)
        let all = try await watcher.received()
        #expect(all.getString(at: all.readerIndex, length: all.readableBytes) == BannerEchoHandler.banner + "QUIT\r\n")
        #expect(try await harness.replies() == [.ok])
        try await service.channel.close()
        await harness.shutdown()
    }

    @Test("a stream without a header is reset after the header timeout; a malformed header gets badRequest")
    func headerTimeoutAndMalformed() async throws {
        let harness = TunnelHarness(seed: 25)
        try await harness.start(headerTimeout: .milliseconds(300))
        let service = try #require(harness.clientService)

        // A silent stream: announced to the device, never sends its header. The clock starts
        // before it is opened: the device's timer cannot start earlier (a later reading, after
        // two event-loop hops, made a loaded machine see the timeout fire "early").
        let opened = NIODeadline.now()
        let silent = try await service.eventLoop.submit {
            let stream = try service.value.connection.openStream()
            service.value.driver.requestStep()
            return stream
        }.get()
        // A garbage header: answered with badRequest then FIN.
        let garbage = try await service.eventLoop.submit {
            let stream = try service.value.connection.openStream()
            _ = try service.value.connection.write(ByteBuffer(bytes: [0x47, 0x45, 0x54, 0x20, 0x2F]), to: stream)
            service.value.driver.requestStep()
            return stream
        }.get()

        // Before the timeout both streams wait on the device: the silent one for its header,
        // the answered one for the client's reset.
        // (Checked only while clearly before the timeout: a loaded machine may sleep longer.)
        // A real timer: the device's header timeout must not have fired yet.
        try await Task.sleep(for: .milliseconds(100))
        let (earlyAge, early) = try await service.eventLoop.submit {
            (NIODeadline.now() - opened, try? service.value.connection.read(silent, maxBytes: 64))
        }.get()
        let (pendingAge, earlyPending) = try await harness.device.submit {
            (NIODeadline.now() - opened, $0.service?.unbridgedStreamCount)
        }.get()
        if earlyAge < .milliseconds(250) { #expect(early == .wouldBlock) }
        if pendingAge < .milliseconds(250) { #expect(earlyPending == 2) }

        var reply = ByteBuffer()
        var sawFin = false
        var silentError: StreamError?
        // The client's streams announce nothing to the test: they are polled.
        _ = try await eventually(timeout: .seconds(3), every: .milliseconds(20)) {
            let checkGarbage = !sawFin
            let checkSilent = silentError == nil
            let (read, error) = try await service.eventLoop.submit { () -> (StreamRead?, StreamError?) in
                let read = checkGarbage ? try? service.value.connection.read(garbage, maxBytes: 64) : nil
                var silentError: StreamError?
                if checkSilent {
                    do { _ = try service.value.connection.read(silent, maxBytes: 64) } catch {
                        silentError = error as? StreamError
                    }
                }
                return (read, silentError)
            }.get()
            switch read {
            case .data(var bytes): reply.writeBuffer(&bytes)
            case .fin: sawFin = true
            default: break
            }
            if let error { silentError = error }
            return sawFin && silentError != nil
        }
        #expect(try StreamTargetReply.parse(&reply) == .complete(StreamTargetReply(status: .badRequest)))
        #expect(sawFin)
        // The peer's reset discards the stream at once, so a later read finds it gone.
        #expect(
            silentError == .reset(silent, errorCode: TunnelService.headerTimeoutErrorCode)
                || silentError == .unknownStream(silent))
        #expect(NIODeadline.now() - opened >= .milliseconds(300))
        try await expectDeviceSettles(harness)
        await harness.shutdown()
    }

    @Test("connect errors map to reply statuses")
    func connectErrorStatuses() {
        #expect(
            TunnelService.replyStatus(for: IOError(errnoCode: ECONNREFUSED, reason: "connect")) == .connectionRefused)
        #expect(TunnelService.replyStatus(for: IOError(errnoCode: EHOSTUNREACH, reason: "connect")) == .unreachable)
        #expect(TunnelService.replyStatus(for: IOError(errnoCode: ENETUNREACH, reason: "connect")) == .unreachable)
        #expect(TunnelService.replyStatus(for: IOError(errnoCode: ETIMEDOUT, reason: "connect")) == .timedOut)
        #expect(TunnelService.replyStatus(for: ChannelError.connectTimeout(.seconds(10))) == .timedOut)
        #expect(TunnelService.replyStatus(for: IOError(errnoCode: EMFILE, reason: "socket")) == .failed)
    }

    /// The device forgets refused streams once the client's reset arrives.
    private func expectDeviceSettles(_ harness: TunnelHarness) async throws {
        // The device announces no stream's end: its count is polled.
        let settled = try await eventually(timeout: .seconds(3)) {
            try await harness.device.submit { $0.service?.unbridgedStreamCount ?? -1 }.get() == 0
        }
        #expect(settled, "refused streams still held by the device")
    }
}
