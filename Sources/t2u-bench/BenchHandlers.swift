// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import NIOPosix

/// Writes `total` bytes (or until `deadline`) as fast as the channel takes them, then
/// half-closes. Reuses one prefilled chunk: no copies on the benchmark's own side.
final class TCPSourceHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let total: Int
    private let deadline: NIODeadline
    private let chunk: ByteBuffer
    private(set) var sent = 0
    private var done = false
    let started: EventLoopPromise<NIODeadline>

    init(total: Int, deadline: NIODeadline, chunkSize: Int = 256 * 1024, started: EventLoopPromise<NIODeadline>) {
        self.total = total
        self.deadline = deadline
        self.chunk = ByteBuffer(repeating: 0x5a, count: chunkSize)
        self.started = started
    }

    func channelActive(context: ChannelHandlerContext) {
        started.succeed(.now())
        pump(context: context)
        context.fireChannelActive()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        pump(context: context)
        context.fireChannelWritabilityChanged()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}

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

/// Counts bytes until EOF; reports (bytes, time of the last byte).
final class TCPSinkHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private var received = 0
    private var lastByte = NIODeadline.now()
    private let done: EventLoopPromise<(Int, NIODeadline)>

    init(done: EventLoopPromise<(Int, NIODeadline)>) { self.done = done }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        received += Self.unwrapInboundIn(data).readableBytes
        lastByte = .now()
    }

    func channelInactive(context: ChannelHandlerContext) {
        done.succeed((received, lastByte))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}

/// Sends `size` bytes, waits for them to come back, `count` times (or until `deadline`);
/// reports the round-trip times in nanoseconds.
final class PingPongHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let message: ByteBuffer
    private let count: Int
    private let deadline: NIODeadline
    private let done: EventLoopPromise<[Int64]>
    private var samples: [Int64] = []
    private var pendingBytes = 0
    private var sentAt = NIODeadline.now()
    private var finished = false

    init(size: Int, count: Int, deadline: NIODeadline, done: EventLoopPromise<[Int64]>) {
        self.message = ByteBuffer(repeating: 0x42, count: size)
        self.count = count
        self.deadline = deadline
        self.done = done
        samples.reserveCapacity(count)
    }

    func channelActive(context: ChannelHandlerContext) {
        send(context: context)
        context.fireChannelActive()
    }

    private func send(context: ChannelHandlerContext) {
        pendingBytes = message.readableBytes
        sentAt = .now()
        context.writeAndFlush(Self.wrapOutboundOut(message), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
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

    func channelInactive(context: ChannelHandlerContext) {
        if !finished {
            finished = true
            done.succeed(samples)
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}
