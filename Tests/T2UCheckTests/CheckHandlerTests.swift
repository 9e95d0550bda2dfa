// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Crypto
import NIOCore
import NIOEmbedded
import T2UClient
import T2UTestSupport
import Testing

@testable import T2UCheck

/// `t2u check`'s echo handler and `t2u demo`'s sender and sink, back to back in
/// `EmbeddedChannel`s: what they write, what they verify, and how each one ends. No sockets.
@Suite struct CheckHandlerTests {
    static let address = try! SocketAddress(ipAddress: "127.0.0.1", port: 7080)

    static func recorder() -> CheckRecorder {
        CheckRecorder(note: { _ in }, statusWords: { (status: PortStatus) in "\(status.rawValue)" })
    }

    /// Everything the channel wrote, in order, as separate buffers.
    static func drain(_ channel: EmbeddedChannel) throws -> [ByteBuffer] {
        var buffers: [ByteBuffer] = []
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) { buffers.append(buffer) }
        return buffers
    }

    static func echoChannel(
        total: UInt64, seed: UInt64 = 9
    ) throws -> (
        EmbeddedChannel, EchoCheckHandler, EventLoopFuture<EchoTransfer.Result>
    ) {
        let channel = EmbeddedChannel()
        let promise = channel.eventLoop.makePromise(of: EchoTransfer.Result.self)
        let handler = EchoCheckHandler(total: total, until: nil, seed: seed, recorder: recorder(), promise: promise)
        try channel.pipeline.syncOperations.addHandler(handler)
        try channel.connect(to: address).wait()
        return (channel, handler, promise.futureResult)
    }

    /// The future's value if it has one already (the embedded loop runs callbacks at once).
    static func result<T: Sendable>(_ future: EventLoopFuture<T>) -> T? {
        let result = Watched<T?>(nil)
        future.whenSuccess { result.set($0) }
        return result.value
    }

    // MARK: EchoCheckHandler

    @Test func anEchoOfEverythingSentIsVerified() throws {
        let (channel, _, future) = try Self.echoChannel(total: 100_000)
        let sent = try Self.drain(channel)
        #expect(sent.map(\.readableBytes).reduce(0, +) == 100_000)
        var expected = [UInt8](repeating: 0, count: 100_000)
        var pattern = PatternStream(seed: 9)
        expected.withUnsafeMutableBytes { pattern.fill($0) }
        #expect(sent.flatMap { Array($0.readableBytesView) } == expected, "the seeded pattern")
        #expect(Self.result(future) == nil, "not done before the echo")
        // Echoed in other pieces than sent: the verifier follows any split.
        let all = ByteBuffer(bytes: expected)
        for start in stride(from: 0, to: 100_000, by: 30_000) {
            try channel.writeInbound(all.getSlice(at: start, length: min(30_000, 100_000 - start))!)
        }
        let result = try #require(Self.result(future))
        #expect(result.verified == 100_000)
        #expect(result.error == nil)
        #expect(!channel.isActive, "the handler closes when done")
    }

    @Test func aChangedByteIsReportedWithItsOffset() throws {
        let (channel, _, future) = try Self.echoChannel(total: 10_000)
        var echo = ByteBuffer()
        for var buffer in try Self.drain(channel) { echo.writeBuffer(&buffer) }
        echo.setInteger(echo.getInteger(at: 4321, as: UInt8.self)! ^ 0x40, at: 4321)
        try channel.writeInbound(echo)
        let result = try #require(Self.result(future))
        guard case .mismatch(let offset) = result.error else {
            Issue.record("expected a mismatch, got \(String(describing: result.error))")
            return
        }
        #expect(offset == 4321)
        #expect(!channel.isActive)
    }

    /// At most the window (4 MiB) is unverified in flight; each echo lets as much more go out.
    @Test func theWindowBoundsWhatIsInFlight() throws {
        let (channel, _, future) = try Self.echoChannel(total: 8 << 20)
        let first = try Self.drain(channel)
        #expect(first.map(\.readableBytes).reduce(0, +) == 4 << 20)
        try channel.writeInbound(first[0])
        let more = try Self.drain(channel)
        #expect(more.map(\.readableBytes).reduce(0, +) == first[0].readableBytes)
        #expect(Self.result(future) == nil)
        _ = try? channel.finish()
    }

    @Test func aConnectionClosedEarlySaysHowFarItGot() throws {
        let (channel, _, future) = try Self.echoChannel(total: 100_000)
        let sent = try Self.drain(channel)
        try channel.writeInbound(sent[0])
        try channel.close().wait()
        let result = try #require(Self.result(future))
        guard case .closedEarly(let total, let verified) = result.error else {
            Issue.record("expected closedEarly, got \(String(describing: result.error))")
            return
        }
        #expect(total == 100_000)
        #expect(verified == UInt64(sent[0].readableBytes))
    }

    @Test func aTimeOutReportsWhatWasVerified() throws {
        let (channel, handler, future) = try Self.echoChannel(total: 100_000)
        let sent = try Self.drain(channel)
        try channel.writeInbound(sent[0])
        handler.timeOut()
        let result = try #require(Self.result(future))
        guard case .timedOut(let verified) = result.error else {
            Issue.record("expected timedOut, got \(String(describing: result.error))")
            return
        }
        #expect(verified == UInt64(sent[0].readableBytes))
    }

    @Test func stopEndsSendingAndFinishesOnceTheRestIsBack() throws {
        let (channel, handler, future) = try Self.echoChannel(total: 8 << 20)
        let sent = try Self.drain(channel)
        handler.stop()
        #expect(Self.result(future) == nil, "what is in flight still counts")
        for buffer in sent { try channel.writeInbound(buffer) }
        #expect(try Self.drain(channel).isEmpty, "nothing more after stop")
        let result = try #require(Self.result(future))
        #expect(result.error == nil)
        #expect(result.verified == 4 << 20)
    }

    // MARK: SenderHandler and SinkHandler

    /// The sender's bytes into the sink, the sink's digest back: both digests agree.
    @Test func senderAndSinkBackToBack() throws {
        let reports = Watched([SinkResult]())
        let sink = EmbeddedChannel(handler: SinkHandler(report: { result in reports.update { $0.append(result) } }))
        try sink.connect(to: Self.address).wait()
        let sender = EmbeddedChannel()
        let promise = sender.eventLoop.makePromise(of: TransferResult.self)
        try sender.pipeline.syncOperations.addHandler(SenderHandler(total: 300_000, seed: 4, promise: promise))
        try sender.connect(to: Self.address).wait()

        let sent = try Self.drain(sender)
        #expect(sent.first?.getInteger(at: 0, as: UInt64.self) == 300_000, "the length comes first")
        #expect(sent.map(\.readableBytes).reduce(0, +) == 8 + 300_000)
        var hasher = SHA256()
        var payload = ByteBuffer()
        for var buffer in sent { payload.writeBuffer(&buffer) }
        payload.moveReaderIndex(forwardBy: 8)
        payload.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
        let digest = Array(hasher.finalize())

        // The header split across reads, as TCP may deliver it.
        var stream = ByteBuffer()
        for var buffer in sent { stream.writeBuffer(&buffer) }
        try sink.writeInbound(stream.readSlice(length: 3)!)
        #expect(reports.value.isEmpty)
        while stream.readableBytes > 0 {
            try sink.writeInbound(stream.readSlice(length: min(50_000, stream.readableBytes))!)
        }
        #expect(reports.value.map(\.bytes) == [300_000])
        #expect(reports.value.first?.digest == digest)
        let answer = try Self.drain(sink)
        #expect(answer.map { Array($0.readableBytesView) } == [digest])

        try sender.writeInbound(answer[0].getSlice(at: 0, length: 10)!)
        #expect(Self.result(promise.futureResult) == nil, "10 of 32 digest bytes")
        try sender.writeInbound(answer[0].getSlice(at: 10, length: 22)!)
        let done = try #require(Self.result(promise.futureResult))
        #expect(done.bytes == 300_000)
        #expect(done.sentDigest == digest)
        #expect(done.answeredDigest == digest)
        _ = try? sender.finish()
        _ = try? sink.finish()
    }

    @Test func theSinkIgnoresBytesPastTheAnnouncedLength() throws {
        let reports = Watched([SinkResult]())
        let sink = EmbeddedChannel(handler: SinkHandler(report: { result in reports.update { $0.append(result) } }))
        var data = ByteBuffer()
        data.writeInteger(UInt64(4))
        data.writeBytes([1, 2, 3, 4, 5, 6])
        try sink.writeInbound(data)
        try sink.writeInbound(ByteBuffer(bytes: [7]))
        #expect(reports.value.map(\.bytes) == [4])
        #expect(reports.value.first?.digest == Array(SHA256.hash(data: [1, 2, 3, 4] as [UInt8])))
        _ = try? sink.finish()
    }

    @Test func aSenderClosedBeforeTheDigestFails() throws {
        let sender = EmbeddedChannel()
        let promise = sender.eventLoop.makePromise(of: TransferResult.self)
        try sender.pipeline.syncOperations.addHandler(SenderHandler(total: 1000, seed: 4, promise: promise))
        try sender.connect(to: Self.address).wait()
        _ = try Self.drain(sender)
        try sender.writeInbound(ByteBuffer(bytes: [1, 2, 3]))
        try sender.close().wait()
        let failure = Watched<(any Error)?>(nil)
        promise.futureResult.whenFailure { failure.set($0) }
        guard case .closedEarly(let sent, let answer) = failure.value as? TransferError else {
            Issue.record("expected closedEarly, got \(String(describing: failure.value))")
            return
        }
        #expect(sent == 1000)
        #expect(answer == 3)
    }
}
