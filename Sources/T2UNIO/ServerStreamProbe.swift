// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import NIOPosix
import NIOSSL
import T2UCore

/// One look at a server's TCP/TLS fallback, as `t2u netcheck` takes it: TLS, the HTTP upgrade
/// to `/t2u`, and whether the `101` comes back; the connection is closed then. Says nothing of
/// the server's identity (the agents check that inside, by its key).
public enum ServerStreamProbe {
    public enum Outcome: Sendable, Equatable {
        /// The upgrade was answered after this long (connect, TLS and the upgrade round trip).
        case upgraded(Duration)
        /// What went wrong, in words: refused, timed out, TLS failed, not a t2u upgrade answer.
        case failed(String)
    }

    public static func check(
        _ target: NetAddress, serverName: String? = nil, timeout: TimeAmount,
        on loop: EventLoop
    ) -> EventLoopFuture<Outcome> {
        let promise = loop.makePromise(of: Outcome.self)
        let started = ContinuousClock.now
        let tls: NIOSSLContext
        do {
            tls = try ServerStream.makeTLSContext()
        } catch {
            return loop.makeSucceededFuture(.failed("TLS: \(error)"))
        }
        let host = serverName ?? target.hostString
        ClientBootstrap(group: loop)
            .connectTimeout(timeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        NIOSSLClientHandler(context: tls, serverHostname: serverName))
                    try channel.pipeline.syncOperations.addHandler(
                        UpgradeProbeHandler(host: host, started: started, promise: promise))
                }
            }
            .connect(to: SocketAddress(target))
            .whenComplete { result in
                switch result {
                case .success(let channel):
                    let deadline = loop.scheduleTask(in: timeout) {
                        promise.succeed(.failed("no upgrade answer within \(timeout.nanoseconds / 1_000_000) ms"))
                    }
                    promise.futureResult.whenComplete { _ in
                        deadline.cancel()
                        channel.close(promise: nil)
                    }
                case .failure(let error):
                    promise.succeed(.failed(Self.describe(error)))
                }
            }
        return promise.futureResult
    }

    static func describe(_ error: Error) -> String {
        if let io = error as? IOError, io.errnoCode == ECONNREFUSED { return "connection refused" }
        if case ChannelError.connectTimeout = error { return "connect timed out" }
        if let connect = error as? NIOConnectionError, let first = connect.connectionErrors.first {
            return describe(first.error)
        }
        return "\(error)"
    }
}

/// Sends the upgrade request once TLS is up and reports the answer's verdict (once).
final class UpgradeProbeHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let host: String
    private let started: ContinuousClock.Instant
    private let promise: EventLoopPromise<ServerStreamProbe.Outcome>
    private var head: [UInt8] = []

    init(host: String, started: ContinuousClock.Instant, promise: EventLoopPromise<ServerStreamProbe.Outcome>) {
        self.host = host
        self.started = started
        self.promise = promise
    }

    func channelActive(context: ChannelHandlerContext) {
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(bytes: StreamUpgrade.request(host: host))), promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        head += unwrapInboundIn(data).readableBytesView
        do {
            guard let length = try StreamUpgrade.headLength(head[...]) else { return }
            try StreamUpgrade.checkResponse(head.prefix(length))
            promise.succeed(.upgraded(ContinuousClock.now - started))
        } catch {
            promise.succeed(.failed("not a t2u upgrade answer: \(error)"))
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.succeed(.failed("closed before the upgrade answer"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        promise.succeed(.failed("TLS or TCP: \(ServerStreamProbe.describe(error))"))
        context.close(promise: nil)
    }
}
