// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Logging
import NIOCore
import NIOPosix
import NIOSSL
import T2UCore
import T2UTestSupport
import Testing

@testable import T2UServer

/// The TCP fallback listener's bounds, from outside: connections beyond the limit are closed at
/// once, and a frame above the size limit closes its stream (counted, nothing reaches the core).
@Suite(.serialized) struct StreamListenerLimitsTests {
    typealias Stream = NIOAsyncChannel<ByteBuffer, ByteBuffer>

    static func connect(port: Int, group: EventLoopGroup) async throws -> Stream {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.certificateVerification = .none
        let context = try NIOSSLContext(configuration: configuration)
        return try await ClientBootstrap(group: group).connect(host: "127.0.0.1", port: port) { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(
                    NIOSSLClientHandler(context: context, serverHostname: nil))
                return try Stream(wrappingChannelSynchronously: channel)
            }
        }
    }

    /// Everything the server sends until it closes (bounded by `seconds`).
    static func readUntilClosed(_ inbound: NIOAsyncChannelInboundStream<ByteBuffer>, seconds: Int = 5) async -> String {
        await withTaskGroup(of: String?.self) { group in
            group.addTask {
                var text = ""
                do { for try await chunk in inbound { text += String(buffer: chunk) } } catch {}
                return text
            }
            group.addTask {
                // The bound on the read above, not a wait for something.
                try? await Task.sleep(for: .seconds(seconds))
                return nil
            }
            let first = await group.next()!
            group.cancelAll()
            return first ?? "(still open after \(seconds) s)"
        }
    }

    /// A server on 127.0.0.1 (OS-chosen ports) with its TCP fallback; `adjust` changes the options
    /// first. Returns it and the fallback's port.
    static func startServer(
        group: MultiThreadedEventLoopGroup, adjust: (inout ServerRunner.Options) -> Void = { _ in }
    ) async throws
        -> (ServerRunner, Int)
    {
        var options = ServerRunner.Options()
        options.bindHost = "127.0.0.1"
        options.port = 0
        options.tcpPort = 0
        adjust(&options)
        let runner = ServerRunner(
            config: ServerConfig(), options: options, logger: Logger(label: "test.server"), group: group)
        try await runner.start()
        return (runner, try #require(runner.streamAddress?.port))
    }

    @Test func connectionsBeyondTheLimitAndOversizedFramesAreClosed() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let (runner, port) = try await Self.startServer(group: group) {
            $0.streamLimits.maxConnections = 1
            $0.streamLimits.maxFrame = 1500
        }

        let first = try await Self.connect(port: port, group: group)
        try await first.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(bytes: StreamUpgrade.request(host: "127.0.0.1")))
            var iterator = inbound.makeAsyncIterator()
            let answer = try #require(try await iterator.next())
            #expect(String(buffer: answer).hasPrefix("HTTP/1.1 101"))

            // The limit is one connection: a second one is closed without an answer.
            let second = try await Self.connect(port: port, group: group)
            let text = try await second.executeThenClose { inbound2, outbound2 in
                try? await outbound2.write(ByteBuffer(bytes: StreamUpgrade.request(host: "127.0.0.1")))
                return await Self.readUntilClosed(inbound2)
            }
            #expect(text == "", "closed at once: \(text)")
            #expect(try await runner.streamCounters().refused == 1)

            // 1501 announced on a stream limited to 1500: closed.
            try await outbound.write(ByteBuffer(bytes: [0x05, 0xDD, 1, 2, 3]))
            var rest = ""
            do { while let chunk = try await iterator.next() { rest += String(buffer: chunk) } } catch {}
            #expect(rest == "")
        }
        // A head that never ends is not buffered past its limit: the connection closes. (Once the
        // server has let go of the first connection, so the limit admits this one.)
        // The server announces no connection's end: its counter is polled.
        _ = try await eventually(timeout: .seconds(5), every: .milliseconds(20)) {
            try await runner.streamCounters().open == 0
        }
        let endless = try await Self.connect(port: port, group: group)
        let answer = try await endless.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(repeating: UInt8(ascii: "A"), count: StreamUpgrade.maxHeadLength + 100))
            return await Self.readUntilClosed(inbound)
        }
        #expect(answer == "", "closed without an answer: \(answer)")
        let counters = try await runner.streamCounters()
        #expect(counters.rejected == 2 && counters.refused == 1, "\(counters)")
        #expect(counters.datagramsReceived == 0)
        #expect(try await runner.counters().datagramsReceived == 0)
        try await runner.shutdown()
        try? await group.shutdownGracefully()
    }
}
