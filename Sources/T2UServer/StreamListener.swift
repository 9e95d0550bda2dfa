// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Logging
import NIOCore
import NIOPosix
import NIOSSL
import T2UCore
import T2UNIO

/// The server's TCP fallback listener (`tcp-port`): TLS, then an HTTP/1.1 upgrade to `/t2u`,
/// then 2-byte length-prefixed datagrams. The upgrade is also accepted without TLS (the C device
/// agent's: no TLS library fits a camera's budget); the first byte tells which
/// (`StreamTLSSniffer`). Each connection appears to `ServerCore` as one more peer address (the
/// TCP peer's address and port), so registration, queries, connects and relayed data work
/// unchanged; what the core sends to that address goes back down the stream.
///
/// Bounded everywhere an attacker can reach: connections (`maxConnections`, beyond which new
/// ones are closed at once), time to finish TLS and the upgrade (`upgradeTimeout`), silence
/// (`idleTimeout`), frame size (`maxFrame`), and what is queued to a slow reader (datagrams are
/// dropped above the write watermark, never buffered without bound).
enum StreamListener {
    struct Limits: Sendable {
        var maxConnections = 1024
        var upgradeTimeout: TimeAmount = .seconds(10)
        /// Agents send keepalives well inside this (below 25 s).
        var idleTimeout: TimeAmount = .seconds(60)
        var maxFrame = StreamFraming.defaultMaxFrame
        /// Bytes queued to one peer beyond which datagrams to it are dropped.
        var writeHighWater = 256 << 10
    }

    static func bind(
        host: String, port: Int, limits: Limits, driver owned: LoopOwned<ServerDriver>
    ) async throws -> Channel {
        let tls = try StreamTLSIdentity.makeServerContext()
        // Connections on the driver's loop: their handlers call it directly.
        var bootstrap = ServerBootstrap(group: owned.eventLoop, childGroup: owned.eventLoop)
        if host.contains(":") {
            // One socket per family, as for UDP: an IPv6 socket leaves IPv4 to the IPv4 one.
            bootstrap = bootstrap.serverChannelOption(
                ChannelOptions.Types.SocketOption(level: .ipv6, name: .ipv6_v6only), value: 1)
        }
        return
            try await bootstrap
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(
                .writeBufferWaterMark, value: .init(low: limits.writeHighWater / 2, high: limits.writeHighWater)
            )
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let driver = owned.value
                    guard driver.streamConnections < limits.maxConnections,
                        let remote = channel.remoteAddress.flatMap(NetAddress.init)
                    else {
                        driver.streamCounters.refused &+= 1
                        channel.close(promise: nil)
                        return
                    }
                    driver.streamConnections += 1
                    channel.closeFuture.assumeIsolated().whenComplete { _ in driver.streamConnections -= 1 }
                    let sync = channel.pipeline.syncOperations
                    try sync.addHandler(StreamTLSSniffer(tls: tls))
                    try sync.addHandler(IdleStateHandler(readTimeout: limits.idleTimeout))
                    try sync.addHandler(StreamPeerHandler(driver: driver, remote: remote, limits: limits))
                }
            }
            .bind(host: host, port: port)
            .get()
    }
}

/// The first bytes of a fallback connection: a TLS record (0x16, a ClientHello) puts TLS in front
/// of what follows; anything else (the plain `GET /t2u` of the C agent) goes straight to the
/// upgrade check, with the same bounds and timeouts. Removes itself after the first read.
/// Plain HTTP passes port-based firewalls but not TLS-inspecting ones; the datagrams inside are
/// sealed by t2u either way (TLS here is camouflage only, docs/protocol/tcp-fallback.md).
final class StreamTLSSniffer: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    static let tlsHandshakeRecord: UInt8 = 0x16
    private let tls: NIOSSLContext
    private var decided = false

    init(tls: NIOSSLContext) { self.tls = tls }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !decided else {
            context.fireChannelRead(data)
            return
        }
        decided = true
        // The first read decides (TCP reads are never empty).
        let bytes = Self.unwrapInboundIn(data)
        if bytes.getInteger(at: bytes.readerIndex, as: UInt8.self) == Self.tlsHandshakeRecord {
            do {
                try context.pipeline.syncOperations.addHandler(
                    NIOSSLServerHandler(context: tls), position: .after(self))
            } catch {
                context.close(promise: nil)
                return
            }
        }
        context.fireChannelRead(data)
        context.pipeline.syncOperations.removeHandler(self, promise: nil)
    }
}

/// One fallback connection on the server, above TLS (or plain, see `StreamTLSSniffer`): checks
/// the upgrade request, then hands each datagram to the core as if it came from `remote` over
/// UDP on the main socket.
final class StreamPeerHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let driver: ServerDriver
    private let remote: NetAddress
    private let limits: StreamListener.Limits
    private var head: ByteBuffer?
    private var peer: StreamPeer?
    private var deframer: StreamDeframer
    private var upgradeTimer: Scheduled<Void>?
    /// Refused: answering 404 and closing; nothing more is read.
    private var refusing = false

    init(driver: ServerDriver, remote: NetAddress, limits: StreamListener.Limits) {
        self.driver = driver
        self.remote = remote
        self.limits = limits
        self.deframer = StreamDeframer(maxFrame: limits.maxFrame)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let channel = context.channel
        upgradeTimer = context.eventLoop.scheduleTask(in: limits.upgradeTimeout) { channel.close(promise: nil) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !refusing else { return }
        var bytes = Self.unwrapInboundIn(data)
        do {
            if peer == nil {
                if head == nil { head = bytes } else { head!.writeBuffer(&bytes) }
                guard let length = try StreamUpgrade.headLength(head!.readableBytesView) else { return }
                do {
                    try StreamUpgrade.checkRequest(head!.readableBytesView.prefix(length))
                } catch {
                    // Not ours: answer as a web server would and close.
                    refusing = true
                    head = nil
                    driver.streamRejected(from: remote, reason: "\(error)")
                    var answer = context.channel.allocator.buffer(capacity: StreamUpgrade.notFound.count)
                    answer.writeBytes(StreamUpgrade.notFound)
                    let channel = context.channel
                    context.writeAndFlush(Self.wrapOutboundOut(answer)).whenComplete { _ in channel.close(promise: nil)
                    }
                    return
                }
                head!.moveReaderIndex(forwardBy: length)
                bytes = head!
                head = nil
                upgradeTimer?.cancel()
                upgradeTimer = nil
                var answer = context.channel.allocator.buffer(capacity: StreamUpgrade.switchingProtocols.count)
                answer.writeBytes(StreamUpgrade.switchingProtocols)
                context.writeAndFlush(Self.wrapOutboundOut(answer), promise: nil)
                let opened = StreamPeer(channel: context.channel)
                peer = opened
                driver.streamOpened(opened, at: remote)
            }
            let driver = self.driver
            let remote = self.remote
            try deframer.feed(bytes) { driver.receivedFromStream($0, from: remote) }
        } catch {
            // A head without end or a bad frame: nothing more is read from this connection.
            refusing = true
            head = nil
            driver.streamRejected(from: remote, reason: "\(error)")
            context.close(promise: nil)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if peer != nil { driver.flush() }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let idle = event as? IdleStateHandler.IdleStateEvent, idle == .read {
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        upgradeTimer?.cancel()
        if let peer { driver.streamClosed(peer, at: remote) }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        driver.logger.debug("TCP fallback stream error", metadata: ["peer": "\(remote)", "error": "\(error)"])
        context.close(promise: nil)
    }
}

/// The sending side of one upgraded fallback connection.
final class StreamPeer {
    let channel: Channel
    private var written = false

    init(channel: Channel) { self.channel = channel }

    /// Frames `datagram` onto the stream; false (dropped) when the peer does not keep up.
    func send(_ datagram: ByteBuffer) -> Bool {
        guard channel.isWritable else { return false }
        var frame = channel.allocator.buffer(capacity: StreamFraming.prefixLength + datagram.readableBytes)
        StreamFraming.encode(datagram, into: &frame)
        channel.write(frame, promise: nil)
        written = true
        return true
    }

    func flush() {
        guard written else { return }
        written = false
        channel.flush()
    }
}
