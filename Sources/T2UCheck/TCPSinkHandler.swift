// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore

/// Counts bytes until EOF; reports (bytes, time of the last byte).
package final class TCPSinkHandler: ChannelInboundHandler {
    package typealias InboundIn = ByteBuffer

    private var received = 0
    private var lastByte = NIODeadline.now()
    private let done: EventLoopPromise<(Int, NIODeadline)>

    package init(done: EventLoopPromise<(Int, NIODeadline)>) { self.done = done }

    package func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        received += Self.unwrapInboundIn(data).readableBytes
        lastByte = .now()
    }

    package func channelInactive(context: ChannelHandlerContext) {
        done.succeed((received, lastByte))
        context.fireChannelInactive()
    }

    package func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}
