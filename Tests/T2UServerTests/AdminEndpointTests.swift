// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Foundation
import Logging
import NIOCore
import NIOPosix
import T2UCore
import Testing

@testable import T2UServer

/// Sends `request` as soon as the connection is up, on its event loop (a test task the
/// cooperative pool leaves waiting must not let the server's idle timeout close the connection
/// before the request), then collects everything received until the peer closes it.
final class HTTPCollector: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    private var bytes: [UInt8] = []
    private let request: [UInt8]
    let done: EventLoopPromise<[UInt8]>

    init(request: [UInt8], done: EventLoopPromise<[UInt8]>) {
        self.request = request
        self.done = done
    }

    func channelActive(context: ChannelHandlerContext) {
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(bytes: request)), promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        bytes += unwrapInboundIn(data).readableBytesView
    }

    func channelInactive(context: ChannelHandlerContext) { done.succeed(bytes) }
    func errorCaught(context: ChannelHandlerContext, error: Error) { context.close(promise: nil) }
}

/// Sends `request` raw over TCP and returns the whole answer (status code, body) once closed;
/// status 0 when the server closed without answering.
func rawHTTP(_ request: [UInt8], to address: SocketAddress, group: EventLoopGroup) async throws -> (Int, String) {
    let promise = group.next().makePromise(of: [UInt8].self)
    let channel = try await ClientBootstrap(group: group)
        .channelInitializer { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(HTTPCollector(request: request, done: promise))
            }
        }
        .connect(to: address).get()
    let timeout = channel.eventLoop.scheduleTask(in: .seconds(15)) { channel.close(promise: nil) }
    let answer = String(decoding: try await promise.futureResult.get(), as: UTF8.self)
    timeout.cancel()
    guard answer.hasPrefix("HTTP/1.1 "), let code = Int(answer.dropFirst(9).prefix(3)) else { return (0, answer) }
    let body = answer.range(of: "\r\n\r\n").map { String(answer[$0.upperBound...]) } ?? ""
    return (code, body)
}

func httpGet(_ path: String, _ address: SocketAddress, group: EventLoopGroup) async throws -> (Int, String) {
    try await rawHTTP(Array("GET \(path) HTTP/1.1\r\nHost: test\r\n\r\n".utf8), to: address, group: group)
}

@Suite(.serialized) struct AdminEndpointTests {
    @Test func servesMetricsAndStatusThatFollowRegistrations() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        var options = ServerRunner.Options()
        options.bindHost = "127.0.0.1"
        options.port = 0
        options.admin = AdminAddress(host: "127.0.0.1", port: 0)
        let runner = ServerRunner(config: ServerConfig(), options: options, logger: Logger(label: "test"), group: group)
        let (main, _) = try await runner.start()
        let admin = try #require(runner.adminAddress)

        let (code, body) = try await httpGet("/status", admin, group: group)
        #expect(code == 200)
        let before = try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])
        #expect(before["devices_online"] as? Int == 0)
        #expect(before["server_id"] as? String == "t2u-1")

        // One device registers over UDP.
        let device = try await LoopbackAgent.make(group: group)
        let registered = try await device.register(
            role: .device, uuid: "ADMIN-1", identity: StaticIdentity.generate(SystemEntropy()),
            serverKey: runner.config.identity.publicKey, to: main)
        guard registered != nil else {
            Issue.record("not registered")
            return
        }

        let (statusCode, statusBody) = try await httpGet("/status?pretty=0", admin, group: group)
        #expect(statusCode == 200)
        let after = try #require(try JSONSerialization.jsonObject(with: Data(statusBody.utf8)) as? [String: Any])
        #expect(after["devices_online"] as? Int == 1)
        #expect(after["clients_online"] as? Int == 0)
        // A loaded machine may make the agent retransmit REGISTER: each one counts.
        #expect(((after["counters"] as? [String: Any])?["registrations"] as? Int ?? 0) >= 1)
        #expect((after["uptime_seconds"] as? Double ?? -1) >= 0)

        let (metricsCode, metricsBody) = try await httpGet("/metrics", admin, group: group)
        #expect(metricsCode == 200)
        let metrics = parsePrometheus(metricsBody)
        #expect(metrics["t2u_server_devices_online"] == 1)
        #expect((metrics["t2u_server_registrations_total"] ?? 0) >= 1)
        #expect((metrics["t2u_server_datagrams_received_total"] ?? 0) >= 2)

        #expect(try await httpGet("/nope", admin, group: group).0 == 404)
        let post = Array("POST /metrics HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nhi".utf8)
        #expect(try await rawHTTP(post, to: admin, group: group).0 == 405)
        #expect(try await rawHTTP(Array("NOT HTTP AT ALL\r\n\r\n".utf8), to: admin, group: group).0 == 400)
        // An oversized request is cut off without an answer.
        let huge = Array("GET /metrics HTTP/1.1\r\nX-Pad: \(String(repeating: "a", count: 20_000))\r\n\r\n".utf8)
        #expect(try await rawHTTP(huge, to: admin, group: group).0 == 0)

        try await device.channel.close()
        try await runner.shutdown()
        try await group.shutdownGracefully()
    }

    @Test func noAdminEndpointUnlessAsked() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        var options = ServerRunner.Options()
        options.bindHost = "127.0.0.1"
        options.port = 0
        let runner = ServerRunner(config: ServerConfig(), options: options, logger: Logger(label: "test"), group: group)
        try await runner.start()
        #expect(runner.adminAddress == nil)
        #expect(try await runner.status().gauges.devicesOnline == 0)
        try await runner.shutdown()
        try await group.shutdownGracefully()
    }
}
