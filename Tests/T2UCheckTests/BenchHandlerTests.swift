// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import NIOEmbedded
import Testing

@testable import T2UCheck

/// t2u-bench's TCP source, sink and ping-pong back to back in `EmbeddedChannel`s: what they
/// write, what they count and how each one ends. No sockets, no sleeps.
@Suite struct BenchHandlerTests {
    static let address = try! SocketAddress(ipAddress: "127.0.0.1", port: 5201)

    // MARK: TCPSourceHandler

    @Test func theSourceWritesExactlyTotalInChunksThenHalfCloses() throws {
        let channel = EmbeddedChannel()
        let started = channel.eventLoop.makePromise(of: NIODeadline.self)
        let handler = TCPSourceHandler(
            total: 10_000, deadline: .now() + .seconds(60), chunkSize: 4096, started: started)
        try channel.pipeline.syncOperations.addHandler(handler)
        try channel.connect(to: Self.address).wait()
        let sent = try CheckHandlerTests.drain(channel)
        #expect(sent.map(\.readableBytes) == [4096, 4096, 1808], "whole chunks, the last one cut to the total")
        #expect(sent.allSatisfy { $0.readableBytesView.allSatisfy { $0 == 0x5a } })
        #expect(handler.sent == 10_000)
        #expect(CheckHandlerTests.result(started.futureResult) != nil, "the start time is reported at activation")
        // Done: a writability change after the end writes nothing more.
        channel.pipeline.fireChannelWritabilityChanged()
        #expect(try CheckHandlerTests.drain(channel).isEmpty)
        _ = try? channel.finish()
    }

    @Test func theSourcePastItsDeadlineSendsNothing() throws {
        let channel = EmbeddedChannel()
        let started = channel.eventLoop.makePromise(of: NIODeadline.self)
        let handler = TCPSourceHandler(total: 10_000, deadline: .now() - .seconds(1), started: started)
        try channel.pipeline.syncOperations.addHandler(handler)
        try channel.connect(to: Self.address).wait()
        #expect(try CheckHandlerTests.drain(channel).isEmpty)
        #expect(handler.sent == 0)
        _ = try? channel.finish()
    }

    // MARK: TCPSinkHandler

    @Test func theSinkCountsEveryByteAndReportsAtTheEnd() throws {
        let channel = EmbeddedChannel()
        let done = channel.eventLoop.makePromise(of: (Int, NIODeadline).self)
        try channel.pipeline.syncOperations.addHandler(TCPSinkHandler(done: done))
        try channel.connect(to: Self.address).wait()
        for size in [1, 1000, 65_536] {
            try channel.writeInbound(ByteBuffer(repeating: 1, count: size))
        }
        #expect(CheckHandlerTests.result(done.futureResult) == nil, "no report before the end")
        _ = try channel.finish()
        #expect(CheckHandlerTests.result(done.futureResult)?.0 == 66_537)
    }

    @Test func aSinkErrorClosesAndStillReports() throws {
        let channel = EmbeddedChannel()
        let done = channel.eventLoop.makePromise(of: (Int, NIODeadline).self)
        try channel.pipeline.syncOperations.addHandler(TCPSinkHandler(done: done))
        try channel.connect(to: Self.address).wait()
        try channel.writeInbound(ByteBuffer(repeating: 1, count: 10))
        channel.pipeline.fireErrorCaught(ChannelError.ioOnClosedChannel)
        #expect(!channel.isActive)
        #expect(CheckHandlerTests.result(done.futureResult)?.0 == 10)
    }

    // MARK: PingPongHandler

    @Test func pingPongTakesOneSamplePerFullEchoAndClosesAfterCount() throws {
        let channel = EmbeddedChannel()
        let done = channel.eventLoop.makePromise(of: [Int64].self)
        try channel.pipeline.syncOperations.addHandler(
            PingPongHandler(size: 100, count: 3, deadline: .now() + .seconds(60), done: done))
        try channel.connect(to: Self.address).wait()
        for round in 0..<3 {
            let ping = try CheckHandlerTests.drain(channel)
            #expect(ping.map(\.readableBytes) == [100], "round \(round): one message out")
            // The echo comes back in two pieces: one sample only when all of it is back.
            try channel.writeInbound(ByteBuffer(repeating: 0x42, count: 60))
            #expect(try CheckHandlerTests.drain(channel).isEmpty, "round \(round): no next ping before the whole echo")
            try channel.writeInbound(ByteBuffer(repeating: 0x42, count: 40))
        }
        let samples = CheckHandlerTests.result(done.futureResult)
        #expect(samples?.count == 3)
        #expect(samples?.allSatisfy { $0 >= 0 } == true)
        #expect(!channel.isActive, "closed after the last sample")
        #expect(try CheckHandlerTests.drain(channel).isEmpty, "no fourth ping")
    }

    @Test func pingPongClosedEarlyReportsTheSamplesItHas() throws {
        let channel = EmbeddedChannel()
        let done = channel.eventLoop.makePromise(of: [Int64].self)
        try channel.pipeline.syncOperations.addHandler(
            PingPongHandler(size: 10, count: 5, deadline: .now() + .seconds(60), done: done))
        try channel.connect(to: Self.address).wait()
        _ = try CheckHandlerTests.drain(channel)
        try channel.writeInbound(ByteBuffer(repeating: 0x42, count: 10))
        _ = try channel.finish()
        #expect(CheckHandlerTests.result(done.futureResult)?.count == 1)
    }
}
