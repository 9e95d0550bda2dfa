// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import NIOPosix
import T2UCore
import Testing

@testable import T2UNIO

/// The port mapping shell's pieces that need no gateway: the default route from
/// /proc/net/route, and the IGD HTTP exchange on loopback (whole answer, size bound, timeout,
/// refused connection), each failure the exchange's own.
@Suite struct GatewayShellTests {
    @Test func defaultGatewayFromTheRouteTable() {
        let table = """
            Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
            eth0\t0002000C\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
            eth1\t00000000\t0102000C\t0003\t0\t0\t200\t00000000\t0\t0\t0
            eth0\t00000000\t010200C0\t0003\t0\t0\t100\t00000000\t0\t0\t0
            eth2\t00000000\t00000000\t0001\t0\t0\t0\t00000000\t0\t0\t0
            """
        #expect(DefaultGateway.parse(routeTable: table) == NetAddress(ipv4: (192, 0, 2, 1), port: 0).host)
        #expect(DefaultGateway.parse(routeTable: "Iface\tDestination\n") == nil)
        #expect(DefaultGateway.parse(routeTable: "junk\n\u{0}\u{0}\t\t\n") == nil)
    }

    /// A loopback TCP server that answers every connection with `reply` (then closes, unless
    /// `hold`).
    static func server(
        _ group: EventLoopGroup, reply: [UInt8], hold: Bool = false
    ) async throws -> (Channel, NetAddress) {
        let channel = try await ServerBootstrap(group: group)
            .childChannelInitializer { child in
                child.eventLoop.makeCompletedFuture {
                    try child.pipeline.syncOperations.addHandler(Answer(reply: reply, hold: hold))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let local = try #require(channel.localAddress)
        return (channel, try #require(NetAddress(local)))
    }

    final class Answer: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let reply: [UInt8]
        let hold: Bool
        init(reply: [UInt8], hold: Bool) {
            self.reply = reply
            self.hold = hold
        }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let hold = hold
            context.writeAndFlush(NIOAny(context.channel.allocator.buffer(bytes: reply))).whenComplete {
                [channel = context.channel] _ in
                if !hold { channel.close(promise: nil) }
            }
        }
    }

    @Test func exchangeReadsUntilCloseWithinItsBounds() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        let answer = Array("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".utf8)
        let (ok, okAddress) = try await Self.server(group, reply: answer)
        let bytes = try await IGDHTTPClient.exchange(
            to: okAddress, request: Array("GET / HTTP/1.1\r\n\r\n".utf8), on: loop
        ).get()
        #expect(try HTTPResponse.parse(bytes) == HTTPResponse(status: 200, body: Array("ok".utf8)))
        try await ok.close()

        let (big, bigAddress) = try await Self.server(
            group, reply: [UInt8](repeating: 65, count: HTTPResponse.maxLength + 10))
        await #expect(throws: GatewayHTTPFailure.self) {
            try await IGDHTTPClient.exchange(to: bigAddress, request: Array("x\r\n\r\n".utf8), on: loop).get()
        }
        try await big.close()

        let (silent, silentAddress) = try await Self.server(group, reply: [], hold: true)
        let started = NIODeadline.now()
        await #expect(throws: GatewayHTTPFailure.self) {
            try await IGDHTTPClient.exchange(
                to: silentAddress, request: Array("x\r\n\r\n".utf8), on: loop, timeout: .milliseconds(300)
            ).get()
        }
        #expect(NIODeadline.now() - started < .seconds(3))
        try await silent.close()

        // Nothing listens there any more.
        await #expect(throws: GatewayHTTPFailure.self) {
            try await IGDHTTPClient.exchange(
                to: okAddress, request: Array("x\r\n\r\n".utf8), on: loop, timeout: .seconds(2)
            ).get()
        }
        try await group.shutdownGracefully()
    }
}
