// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore

/// Writes `total` bytes (or until `deadline`) as fast as the channel takes them, then
/// half-closes. Reuses one prefilled chunk: no copies on the benchmark's own side.
package final class TCPSourceHandler: ChannelInboundHandler {
    package typealias InboundIn = ByteBuffer
    package typealias OutboundOut = ByteBuffer

    private let total: Int
    private let deadline: NIODeadline
    private let chunk: ByteBuffer
    package private(set) var sent = 0
    private var done = false
    package let started: EventLoopPromise<NIODeadline>

    package init(total: Int, deadline: NIODeadline, chunkSize: Int = 256 * 1024, started: EventLoopPromise<NIODeadline>)
    {
        self.total = total
        self.deadline = deadline
        self.chunk = ByteBuffer(repeating: 0x5a, count: chunkSize)
        self.started = started
    }

    package func channelActive(context: ChannelHandlerContext) {
        started.succeed(.now())
        pump(context: context)
        context.fireChannelActive()
    }

    package func channelWritabilityChanged(context: ChannelHandlerContext) {
        pump(context: context)
        context.fireChannelWritabilityChanged()
    }

    package func channelRead(context: ChannelHandlerContext, data: NIOAny) {}

    private func pump(context: ChannelHandlerContext) {
        guard !done else { return }
        // Bounded: at most total / chunk iterations, and stops at the deadline.
        while context.channel.isWritable, sent < total, NIODeadline.now() < deadline {
            let n = min(chunk.readableBytes, total - sent)
            context.write(Self.wrapOutboundOut(chunk.getSlice(at: chunk.readerIndex, length: n) ?? chunk), promise: nil)
            sent += n
        }
        context.flush()
        if sent >= total || NIODeadline.now() >= deadline {
            done = true
            context.close(mode: .output, promise: nil)
        }
    }
}
