// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Foundation
import NIOCore

/// Keeps at most `window` bytes unverified in flight; finishes when everything sent is back.
final class EchoCheckHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private static let chunkSize = 64 * 1024
    private static let window: UInt64 = 4 * 1024 * 1024
    private let total: UInt64?
    private let until: ContinuousClock.Instant?
    private let recorder: CheckRecorder
    private let promise: EventLoopPromise<EchoTransfer.Result>
    private var writer: PatternStream
    private var verifier: PatternStream
    private var expected: [UInt8] = []
    private var sent: UInt64 = 0
    private var verified: UInt64 = 0
    /// When the first echoed byte came back: the rate counts from there (not from the wait
    /// for the link).
    private var firstByteAt: ContinuousClock.Instant?
    private var done = false
    private var context: ChannelHandlerContext?
    private var stopTimer: Scheduled<Void>?

    init(
        total: UInt64?, until: ContinuousClock.Instant?, seed: UInt64, recorder: CheckRecorder,
        promise: EventLoopPromise<EchoTransfer.Result>
    ) {
        self.total = total
        self.until = until
        self.recorder = recorder
        self.promise = promise
        self.writer = PatternStream(seed: seed)
        self.verifier = PatternStream(seed: seed)
    }

    private var stopped = false

    private var writing: Bool {
        if stopped { return false }
        if let total { return sent < total }
        if let until { return ContinuousClock.now < until }
        return false
    }

    private var seconds: Double {
        guard let firstByteAt else { return 0 }
        return Double(CheckRecorder.millis(ContinuousClock.now - firstByteAt)) / 1000
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func channelActive(context: ChannelHandlerContext) {
        if let until {
            let nanos = CheckRecorder.millis(until - ContinuousClock.now) * 1_000_000
            stopTimer = context.eventLoop.assumeIsolated().scheduleTask(in: .nanoseconds(Int64(max(0, nanos)))) {
                [self] in
                self.finishIfDone()
            }
        }
        pump(context: context)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) { pump(context: context) }

    private func pump(context: ChannelHandlerContext) {
        while writing && sent - verified < Self.window && context.channel.isWritable {
            var size = Self.chunkSize
            if let total { size = Int(min(UInt64(size), total - sent)) }
            var chunk = context.channel.allocator.buffer(capacity: size)
            chunk.writeWithUnsafeMutableBytes(minimumWritableBytes: size) { raw in
                writer.fill(UnsafeMutableRawBufferPointer(rebasing: raw[0..<size]))
                return size
            }
            sent += UInt64(size)
            context.write(wrapOutboundOut(chunk), promise: nil)
        }
        context.flush()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !done else { return }
        let buffer = unwrapInboundIn(data)
        let count = buffer.readableBytes
        guard count > 0 else { return }
        if firstByteAt == nil {
            firstByteAt = ContinuousClock.now
            recorder.firstByte()
        }
        if expected.count < count { expected = [UInt8](repeating: 0, count: count) }
        let matches = expected.withUnsafeMutableBytes { scratch -> Int? in
            let slice = UnsafeMutableRawBufferPointer(rebasing: scratch[0..<count])
            verifier.fill(slice)
            return buffer.withUnsafeReadableBytes { got -> Int? in
                if let a = got.baseAddress, let b = slice.baseAddress, memcmp(a, b, count) == 0 { return nil }
                for index in 0..<count where got[index] != slice[index] { return index }
                return nil
            }
        }
        if let index = matches {
            return finish(.mismatch(offset: verified + UInt64(index)), context: context)
        }
        verified += UInt64(count)
        if verified > sent { return finish(.mismatch(offset: sent), context: context) }
        finishIfDone()
        if !done { pump(context: context) }
    }

    private func finishIfDone() {
        guard let context, !done, !writing, verified == sent else { return }
        finish(nil, context: context)
    }

    /// Stop sending; finish once everything sent is verified.
    func stop() {
        stopped = true
        finishIfDone()
    }

    func timeOut() {
        guard let context, !done else { return }
        finish(.timedOut(verified: verified), context: context)
    }

    private func finish(_ error: EchoTransferError?, context: ChannelHandlerContext) {
        guard !done else { return }
        done = true
        stopTimer?.cancel()
        promise.succeed(EchoTransfer.Result(verified: verified, seconds: seconds, error: error))
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish(.closedEarly(sent: sent, verified: verified), context: context)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        finish(.closedEarly(sent: sent, verified: verified), context: context)
    }
}
