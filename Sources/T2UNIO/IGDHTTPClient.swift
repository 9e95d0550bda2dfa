// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import NIOPosix
import T2UCore

/// One HTTP/1.1 exchange with a UPnP IGD: connect, write the request (built by the core, with
/// `Connection: close`), read until the IGD closes. Bounded in size (`HTTPResponse.maxLength`)
/// and time (connect plus the whole exchange); every failure is this exchange's alone.
package enum IGDHTTPClient {
    package static func exchange(
        to address: NetAddress, request: [UInt8], on loop: EventLoop,
        timeout: TimeAmount = .seconds(5)
    ) -> EventLoopFuture<[UInt8]> {
        let promise = loop.makePromise(of: [UInt8].self)
        let connected = ClientBootstrap(group: loop)
            .connectTimeout(timeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        ResponseCollector(promise: promise, limit: HTTPResponse.maxLength))
                }
            }
            .connect(to: SocketAddress(address))
        connected.whenComplete { result in
            switch result {
            case .success(let channel):
                var buffer = channel.allocator.buffer(capacity: request.count)
                buffer.writeBytes(request)
                channel.writeAndFlush(buffer, promise: nil)
                let timer = loop.scheduleTask(in: timeout) {
                    promise.fail(
                        GatewayHTTPFailure(
                            "no complete answer from \(address) within \(timeout.nanoseconds / 1_000_000_000) s"))
                    channel.close(promise: nil)
                }
                promise.futureResult.whenComplete { _ in
                    timer.cancel()
                    channel.close(promise: nil)
                }
            case .failure(let error):
                promise.fail(GatewayHTTPFailure("cannot connect to \(address): \(error)"))
            }
        }
        return promise.futureResult
    }

    /// Collects the bytes until the peer closes; fails beyond `limit`.
    final class ResponseCollector: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        let promise: EventLoopPromise<[UInt8]>
        let limit: Int
        var bytes: [UInt8] = []

        init(promise: EventLoopPromise<[UInt8]>, limit: Int) {
            self.promise = promise
            self.limit = limit
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let buffer = unwrapInboundIn(data)
            guard bytes.count + buffer.readableBytes <= limit else {
                promise.fail(GatewayHTTPFailure("answer larger than \(limit) bytes"))
                context.close(promise: nil)
                return
            }
            bytes += buffer.readableBytesView
        }

        func channelInactive(context: ChannelHandlerContext) {
            promise.succeed(bytes)  // no-op when already failed
        }

        func errorCaught(context: ChannelHandlerContext, error: Error) {
            promise.fail(GatewayHTTPFailure("\(error)"))
            context.close(promise: nil)
        }
    }
}
