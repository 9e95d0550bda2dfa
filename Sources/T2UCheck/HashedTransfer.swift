// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Crypto
import NIOCore
import NIOPosix

// `t2u demo`'s TCP traffic. The sender announces a length (8 bytes, big endian), then sends that
// many pseudo-random bytes; the sink on the device side hashes them with SHA-256 and answers
// with its 32-byte digest. Both ends hash, so the demo compares two independent digests.

package struct SinkResult: Sendable {
    package var bytes: UInt64
    package var digest: [UInt8]
}

/// The device's small TCP service: hashes what it receives and answers with the digest.
package struct DemoSink {
    package let port: Int
    package let results: AsyncStream<SinkResult>
    private let channel: Channel

    package static func start(group: EventLoopGroup) async throws -> DemoSink {
        let (results, continuation) = AsyncStream<SinkResult>.makeStream()
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 16)
            .childChannelInitializer { child in
                child.eventLoop.makeCompletedFuture {
                    try child.pipeline.syncOperations.addHandler(SinkHandler(report: { continuation.yield($0) }))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        guard let port = channel.localAddress?.port else { throw ChannelError.inappropriateOperationForState }
        return DemoSink(port: port, results: results, channel: channel)
    }

    package func close() async {
        try? await channel.close()
    }
}

final class SinkHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let report: @Sendable (SinkResult) -> Void
    private var header = ByteBuffer()
    private var expected: UInt64?
    private var received: UInt64 = 0
    private var hasher = SHA256()
    private var done = false

    init(report: @escaping @Sendable (SinkResult) -> Void) { self.report = report }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        guard !done else { return }
        if expected == nil {
            let needed = 8 - header.readableBytes
            guard var part = buffer.readSlice(length: min(needed, buffer.readableBytes)) else { return }
            header.writeBuffer(&part)
            guard let length = header.getInteger(at: header.readerIndex, as: UInt64.self) else { return }
            expected = length
        }
        guard let expected else { return }
        let take = Int(min(UInt64(buffer.readableBytes), expected - received))
        buffer.withUnsafeReadableBytes { hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: $0[0..<take])) }
        received += UInt64(take)
        if received == expected {
            done = true
            let digest = Array(hasher.finalize())
            report(SinkResult(bytes: received, digest: digest))
            var reply = context.channel.allocator.buffer(capacity: digest.count)
            reply.writeBytes(digest)
            context.writeAndFlush(wrapOutboundOut(reply), promise: nil)  // the sender closes
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}

package struct TransferResult: Sendable {
    package var bytes: UInt64
    package var seconds: Double
    /// What the sender hashed.
    package var sentDigest: [UInt8]
    /// What the sink answered.
    package var answeredDigest: [UInt8]
}

package enum TransferError: Error, CustomStringConvertible {
    case closedEarly(sent: UInt64, answer: Int)

    package var description: String {
        switch self {
        case .closedEarly(let sent, let answer):
            return "connection closed after \(sent) bytes sent and \(answer) of 32 digest bytes received"
        }
    }
}

/// Connects to 127.0.0.1:port (the mapped local port), sends `bytes` and waits for the digest.
package func sendThrough(port: Int, bytes: UInt64, seed: UInt64, group: EventLoopGroup) async throws -> TransferResult {
    let loop = group.next()
    let promise = loop.makePromise(of: TransferResult.self)
    let channel = try await ClientBootstrap(group: loop)
        .channelOption(.tcpOption(.tcp_nodelay), value: 1)
        .channelOption(.writeBufferWaterMark, value: .init(low: 512 * 1024, high: 2 * 1024 * 1024))
        .channelInitializer { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(
                    SenderHandler(total: bytes, seed: seed, promise: promise))
            }
        }
        .connect(host: "127.0.0.1", port: port).get()
    defer { channel.close(promise: nil) }
    return try await promise.futureResult.get()
}

final class SenderHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private static let chunkSize = 64 * 1024
    private let total: UInt64
    private var sent: UInt64 = 0
    private var state: UInt64
    private var hasher = SHA256()
    private var sentDigest: [UInt8] = []
    private var answer = ByteBuffer()
    private let promise: EventLoopPromise<TransferResult>
    private var started = ContinuousClock.now
    private var finished = false

    init(total: UInt64, seed: UInt64, promise: EventLoopPromise<TransferResult>) {
        self.total = total
        self.state = seed | 1
        self.promise = promise
    }

    func channelActive(context: ChannelHandlerContext) {
        started = ContinuousClock.now
        var header = context.channel.allocator.buffer(capacity: 8)
        header.writeInteger(total)
        context.write(wrapOutboundOut(header), promise: nil)
        pump(context: context)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        pump(context: context)
    }

    private func pump(context: ChannelHandlerContext) {
        while sent < total && context.channel.isWritable {
            let size = Int(min(UInt64(Self.chunkSize), total - sent))
            var chunk = context.channel.allocator.buffer(capacity: size)
            var state = self.state
            chunk.writeWithUnsafeMutableBytes(minimumWritableBytes: size) { raw in
                // xorshift64: cheap bytes that no layer can compress or special-case.
                var offset = 0
                while offset < size {
                    state ^= state << 13
                    state ^= state >> 7
                    state ^= state << 17
                    withUnsafeBytes(of: state) { word in
                        let n = min(8, size - offset)
                        raw.baseAddress!.advanced(by: offset).copyMemory(from: word.baseAddress!, byteCount: n)
                    }
                    offset += 8
                }
                return size
            }
            self.state = state
            chunk.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
            sent += UInt64(size)
            context.write(wrapOutboundOut(chunk), promise: nil)
        }
        if sent == total && sentDigest.isEmpty { sentDigest = Array(hasher.finalize()) }
        context.flush()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        answer.writeBuffer(&buffer)
        guard answer.readableBytes >= 32, !finished, let digest = answer.getBytes(at: answer.readerIndex, length: 32)
        else { return }
        finished = true
        let elapsed = (ContinuousClock.now - started).components
        let seconds = Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18
        promise.succeed(TransferResult(bytes: sent, seconds: seconds, sentDigest: sentDigest, answeredDigest: digest))
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !finished {
            finished = true
            promise.fail(TransferError.closedEarly(sent: sent, answer: answer.readableBytes))
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if !finished {
            finished = true
            promise.fail(error)
        }
        context.close(promise: nil)
    }
}
