// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore

/// Sends `size` bytes, waits for them to come back, `count` times (or until `deadline`);
/// reports the round-trip times in nanoseconds.
package final class PingPongHandler: ChannelInboundHandler {
    package typealias InboundIn = ByteBuffer
    package typealias OutboundOut = ByteBuffer

    private let message: ByteBuffer
    private let count: Int
    private let deadline: NIODeadline
    private let done: EventLoopPromise<[Int64]>
    private var samples: [Int64] = []
    private var pendingBytes = 0
    private var sentAt = NIODeadline.now()
    private var finished = false

    package init(size: Int, count: Int, deadline: NIODeadline, done: EventLoopPromise<[Int64]>) {
        self.message = ByteBuffer(repeating: 0x42, count: size)
        self.count = count
        self.deadline = deadline
        self.done = done
        samples.reserveCapacity(count)
    }

    package func channelActive(context: ChannelHandlerContext) {
        send(context: context)
        context.fireChannelActive()
    }

    private func send(context: ChannelHandlerContext) {
        pendingBytes = message.readableBytes
        sentAt = .now()
        context.writeAndFlush(Self.wrapOutboundOut(message), promise: nil)
    }

    package func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        pendingBytes -= Self.unwrapInboundIn(data).readableBytes
        guard pendingBytes <= 0, !finished else { return }
        samples.append(Int64(NIODeadline.now().uptimeNanoseconds - sentAt.uptimeNanoseconds))
        if samples.count >= count || NIODeadline.now() >= deadline {
            finish(context: context)
        } else {
            send(context: context)
        }
    }

    private func finish(context: ChannelHandlerContext) {
        finished = true
        done.succeed(samples)
        context.close(promise: nil)
    }

    package func channelInactive(context: ChannelHandlerContext) {
        if !finished {
            finished = true
            done.succeed(samples)
        }
        context.fireChannelInactive()
    }

    package func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}
