// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Logging
import NIOCore
import NIOPosix
import Synchronization
import T2UClient
import T2UCore
import T2UNIO
import T2UServer
import T2UTestSupport
import Testing

/// A server on 127.0.0.1 (port 0) run in-process.
final class TestServer: Sendable {
    let runner: ServerRunner
    let group: MultiThreadedEventLoopGroup
    /// Set by `start`.
    private let started = Mutex<SocketAddress?>(nil)
    var main: SocketAddress { started.withLock { $0! } }

    /// `database`: share presence through PostgreSQL; `port` 0 lets the OS choose.
    init(
        config: ServerConfig = ServerConfig(), database: PostgresSync.Options? = nil, port: Int = 0,
        bindingsFile: String? = nil
    ) {
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        var options = ServerRunner.Options()
        options.bindHost = "127.0.0.1"
        options.port = port
        options.database = database
        options.bindingsFile = bindingsFile
        runner = ServerRunner(config: config, options: options, logger: Logger(label: "test.server"), group: group)
    }

    func start() async throws {
        let main = try await runner.start().main
        started.withLock { $0 = main }
    }

    var port: UInt16 { UInt16(main.port ?? 0) }
    var address: NetAddress { NetAddress(main)! }

    func stop() async {
        try? await runner.shutdown()
        try? await group.shutdownGracefully()
    }
}

/// A device agent as the product runs it: one UDP socket with signaling (role .device) and the
/// transport; incoming streams go to TCP services on 127.0.0.1 (TunnelService).
final class TestDevice: Sendable {
    /// The agent's parts, on its loop.
    final class State {
        let driver: EndpointDriver
        let signaling: SignalingClient
        /// Tunnels by connection.
        var tunnels: [TunnelService] = []
        init(driver: EndpointDriver, signaling: SignalingClient) {
            self.driver = driver
            self.signaling = signaling
        }
    }

    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    let state: LoopOwned<State>
    let identity: StaticIdentity

    /// `fallbacks`: further servers, tried in turn when `server` stops answering.
    init(
        uuid: String, server: NetAddress, fallbacks: [NetAddress] = [], serverKey: String? = nil,
        password: String? = nil,
        extra: String = "", seed: UInt64 = 7
    ) throws {
        let entropy = SeededEntropy(seed: seed)
        identity = StaticIdentity.generate(entropy)
        let loop = group.next()
        let driver = EndpointDriver(
            endpoint: TransportEndpoint(
                options: .init(
                    config: TransportConfig(), identity: identity, acceptIncoming: true,
                    password: password.map { Array($0.utf8) }),
                entropy: entropy),
            eventLoop: loop)
        var config = SignalingClientConfig(
            role: .device, uuid: uuid, identity: identity, extra: Array(extra.utf8),
            serverPublicKey: try ServerPublicKey.parse(serverKey), server: server)
        config.fallbackServers = fallbacks
        let signaling = try SignalingClient(config: config, entropy: entropy, now: EndpointDriver.now())
        state = LoopOwned(sending: State(driver: driver, signaling: signaling), eventLoop: loop)
    }

    func start() async throws {
        _ = try await state.flatSubmit { $0.driver.start() }.get()
        try await state.submit { state in
            state.driver.attachSignaling(state.signaling) { _ in }
            state.driver.onAccept = { connection in
                let tunnel = TunnelService(driver: state.driver, connection: connection)
                tunnel.serveIncomingStreams(policy: .deviceOnly)
                state.tunnels.append(tunnel)
            }
        }.get()
        try await waitUntil("device registration") {
            try await self.state.submit { $0.signaling.status == .registered }.get()
        }
    }

    /// Closes every tunnel connection (the link dies from the client's point of view).
    func dropConnections() async throws {
        try await state.submit { state in
            for tunnel in state.tunnels { _ = tunnel.close() }
            state.tunnels.removeAll()
        }.get()
    }

    func stop() async {
        _ = try? await state.flatSubmit { $0.driver.close() }.get()
        try? await group.shutdownGracefully()
    }
}

/// TCP echo service on 127.0.0.1 (the device's "camera" service).
final class EchoService: Sendable {
    final class Echo: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        func channelRead(context: ChannelHandlerContext, data: NIOAny) { context.writeAndFlush(data, promise: nil) }
    }

    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    /// Set by `start`.
    private let started = Mutex<Channel?>(nil)
    var channel: Channel { started.withLock { $0! } }
    var port: UInt16 { UInt16(channel.localAddress?.port ?? 0) }

    func start() async throws {
        let channel = try await ServerBootstrap(group: group)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelInitializer { $0.pipeline.addHandler(Echo()) }
            .bind(host: "127.0.0.1", port: 0).get()
        started.withLock { $0 = channel }
    }

    func stop() async {
        try? await started.withLock { $0 }?.close()
        try? await group.shutdownGracefully()
    }
}

/// Polls `condition` every 20 ms for at most `seconds` (and once more after the deadline), for
/// what the SDK announces no event for (a port's status, a server's counter).
func waitUntil(_ what: String, seconds: Double = 10, _ condition: () async throws -> Bool) async throws {
    try await until(what, timeout: .milliseconds(Int(seconds * 1000)), every: .milliseconds(20), condition)
}

func clientOptions(_ server: TestServer, key: String? = nil) -> T2UClientOptions {
    var options = T2UClientOptions(server: "127.0.0.1", serverPort: server.port, serverKey: key)
    // Test devices get fresh keys under reused UUIDs: never touch the user's known-devices file.
    options.knownDevices = .memory
    options.firstRetryDelay = .milliseconds(200)
    options.retryInterval = .seconds(1)
    return options
}

/// Sends `payload` through 127.0.0.1:`port` and returns what comes back (echo) once as many
/// bytes arrived.
/// `connected`, when given, becomes true once the TCP connection is up (before the payload goes).
func echoRoundTrip(
    port: UInt16, payload: ByteBuffer, group: EventLoopGroup, connected: Watched<Bool>? = nil
) async throws -> ByteBuffer {
    let tcp = try await ClientBootstrap(group: group).connect(host: "127.0.0.1", port: Int(port)) { channel in
        channel.eventLoop.makeCompletedFuture {
            try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
        }
    }
    connected?.set(true)
    return try await tcp.executeThenClose { inbound, outbound in
        try await outbound.write(payload)
        var received = ByteBuffer()
        for try await chunk in inbound {
            received.writeImmutableBuffer(chunk)
            if received.readableBytes >= payload.readableBytes { break }
        }
        return received
    }
}

/// Counts the bytes a TCP connection receives, for tests that wait for an echo.
final class ReceivedBytes: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    let count: Watched<Int>
    init(_ count: Watched<Int>) { self.count = count }
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = Self.unwrapInboundIn(data).readableBytes
        count.update { $0 += bytes }
    }
}

func pattern(_ count: Int, seed: UInt8) -> ByteBuffer {
    ByteBuffer(bytes: (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seed)) })
}

/// A server on 127.0.0.1 (OS-chosen ports) with its TCP/TLS fallback on; and the fallback's port.
func startServerWithTCPFallback(group: MultiThreadedEventLoopGroup) async throws -> (runner: ServerRunner, tcpPort: Int)
{
    var options = ServerRunner.Options()
    options.bindHost = "127.0.0.1"
    options.port = 0
    options.tcpPort = 0
    let runner = ServerRunner(
        config: ServerConfig(), options: options, logger: Logger(label: "test.server"), group: group)
    try await runner.start()
    return (runner, try #require(runner.streamAddress?.port))
}
