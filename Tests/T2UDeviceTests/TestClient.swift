// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Logging
import NIOCore
import NIOPosix
import Synchronization
import T2UCore
import T2UDevice
import T2UNIO
import T2UServer
import T2UTestSupport

/// A client as the SDK will run it (copied from AgentOverServerTests' SignalingAgent): one UDP
/// socket carrying signaling and transport, on its own event loop.
final class TestClient: Sendable {
    /// The client's parts, on its loop.
    final class State {
        let driver: EndpointDriver
        let signaling: SignalingClient
        var events: [SignalingClientEvent] = []
        init(driver: EndpointDriver, signaling: SignalingClient) {
            self.driver = driver
            self.signaling = signaling
        }
    }

    let state: LoopOwned<State>
    var eventLoop: EventLoop { state.eventLoop }

    init(loop: EventLoop, server: NetAddress, seed: UInt64) throws {
        let entropy = SeededEntropy(seed: seed)
        let identity = StaticIdentity.generate(entropy)
        let driver = EndpointDriver(
            endpoint: TransportEndpoint(
                options: .init(config: TransportConfig(), identity: identity, acceptIncoming: false),
                entropy: entropy),
            eventLoop: loop)
        let signaling = try SignalingClient(
            config: SignalingClientConfig(role: .client, uuid: "app-\(seed)", identity: identity, server: server),
            entropy: entropy, now: EndpointDriver.now())
        state = LoopOwned(sending: State(driver: driver, signaling: signaling), eventLoop: loop)
    }

    func start() async throws {
        _ = try await state.flatSubmit { $0.driver.start() }.get()
        try await state.submit { state in
            state.driver.attachSignaling(state.signaling) { state.events.append($0) }
        }.get()
        _ = try await poll("client registration") { $0.signaling.status == .registered ? true : nil }
    }

    /// Runs `body` on the loop every 20 ms until it returns a value (at most `seconds`).
    func poll<T: Sendable>(
        _ what: String, seconds: Double = 10, _ body: @escaping @Sendable (State) -> T?
    ) async throws -> T {
        try await T2UTestSupport.poll(what, timeout: .milliseconds(Int(seconds * 1000)), every: .milliseconds(20)) {
            try await state.submit(body).get()
        }
    }

    func query(_ uuid: String) async throws -> SignalingMessage.QueryResult {
        let id = try await state.submit { $0.signaling.query(uuid: uuid, now: EndpointDriver.now()) }.get()
        state.execute { $0.driver.requestStep() }
        return try await poll("query result") {
            for case .queryResult(let requestID, let result) in $0.events where requestID == id { return result }
            return nil
        }
    }

    func connectResult(
        _ uuid: String, connectionID: ConnectionID, candidates: [NetAddress] = []
    ) async throws -> SignalingMessage.ConnectResult {
        let id = try await state.submit {
            $0.signaling.connect(
                uuid: uuid, clientConnectionID: connectionID, candidates: candidates, now: EndpointDriver.now())
        }.get()
        state.execute { $0.driver.requestStep() }
        return try await poll("connect result") {
            for case .connectResult(let requestID, let result) in $0.events where requestID == id { return result }
            return nil
        }
    }

    /// Query, then a direct handshake to the device's public address plus CONNECT, as the SDK
    /// does; returns the client's tunnel (not necessarily established).
    func openTunnel(to uuid: String, password: String?) async throws -> OpenedTunnel {
        let query = try await query(uuid)
        guard query.online, let address = query.publicAddress else { throw DeviceTestError.offline(uuid) }
        let key = query.publicKey
        // The connection belongs to the loop: it leaves the loop only bound to it.
        let (connectionID, connection) = try await state.submit { state in
            let connection = try state.driver.connect(
                to: SocketAddress(address), remoteStaticKey: key, password: password.map { Array($0.utf8) })
            return (connection.localConnectionID, NIOLoopBound(connection, eventLoop: state.driver.eventLoop))
        }.get()
        _ = try await connectResult(uuid, connectionID: connectionID)
        return try await state.submit { state in
            OpenedTunnel(
                LoopOwned(
                    TunnelService(driver: state.driver, connection: connection.value),
                    eventLoop: state.driver.eventLoop))
        }.get()
    }

    func close() async {
        _ = try? await state.flatSubmit { $0.driver.close() }.get()
    }
}

/// A client's tunnel as a test holds it: the service on its loop, and its two outcomes.
struct OpenedTunnel: Sendable {
    let service: LoopOwned<TunnelService>
    let established: EventLoopFuture<Void>
    let closed: EventLoopFuture<ConnectionCloseReason>

    /// On the service's loop.
    init(_ service: LoopOwned<TunnelService>) {
        self.service = service
        established = service.value.established
        closed = service.value.closed
    }

    func listen(target: StreamTargetHeader) async throws -> SocketAddress {
        try await service.flatSubmit { $0.listen(target: target) }.get()
    }

    func close() async throws {
        try await service.flatSubmit { $0.close() }.get()
    }
}

enum DeviceTestError: Error {
    case timedOut(String)
    case offline(String)
}

/// TCP echo service standing in for the device's camera service.
final class EchoHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.writeAndFlush(data, promise: nil)
    }
}

/// A server, an echo service and an event loop group for one test.
final class DeviceHarness: Sendable {
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
    let server: ServerRunner
    let serverAddress: SocketAddress
    var serverNet: NetAddress { NetAddress(serverAddress)! }
    /// Echo services to close; tests may open them from any task.
    private let channels = Mutex<[Channel]>([])

    init() async throws {
        let config = ServerConfig()
        var options = ServerRunner.Options()
        options.bindHost = "127.0.0.1"
        options.port = 0
        server = ServerRunner(config: config, options: options, logger: Logger(label: "test.server"), group: group)
        serverAddress = try await server.start().main
    }

    /// The server's public key as agents are given it (`svrkey`).
    var serverKey: String { Hex.encode(server.config.identity.publicKey) }

    /// Options for a device on this server: loopback, discovery off unless a test asks for it.
    func deviceOptions(uuid: String, serverKey: String? = nil) -> DeviceAgentOptions {
        var options = DeviceAgentOptions(
            uuid: uuid, server: "127.0.0.1", serverPort: UInt16(serverAddress.port!), serverKey: serverKey)
        options.discoveryAddress = nil
        return options
    }

    /// A UDP port free right now (bound and released).
    func freeUDPPort() async throws -> UInt16 {
        let channel = try await DatagramBootstrap(group: group).bind(host: "127.0.0.1", port: 0).get()
        let port = UInt16(channel.localAddress!.port!)
        try await channel.close()
        return port
    }

    /// An echo service on `host` (any 127/8 address); returns its port.
    func echo(host: String = "127.0.0.1") async throws -> UInt16 {
        let channel = try await ServerBootstrap(group: group)
            .childChannelInitializer { $0.pipeline.addHandler(EchoHandler()) }
            .bind(host: host, port: 0).get()
        channels.withLock { $0.append(channel) }
        return UInt16(channel.localAddress!.port!)
    }

    func client(seed: UInt64) async throws -> TestClient {
        let client = try TestClient(loop: group.next(), server: serverNet, seed: seed)
        try await client.start()
        return client
    }

    /// Sends `payload` through a local TCP connection to `address` and returns what came back.
    func roundTrip(_ payload: ByteBuffer, via address: SocketAddress) async throws -> ByteBuffer {
        let tcp = try await ClientBootstrap(group: group).connect(to: address) { channel in
            channel.eventLoop.makeCompletedFuture {
                try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
            }
        }
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

    func close() async throws {
        for channel in channels.withLock({ $0 }) { try? await channel.close() }
        try await server.shutdown()
        try await group.shutdownGracefully()
    }
}

/// Polls `body` every 20 ms for up to `seconds`, for state no event announces.
func eventually(_ seconds: Double = 10, _ body: () async -> Bool) async -> Bool {
    await T2UTestSupport.eventually(timeout: .milliseconds(Int(seconds * 1000)), every: .milliseconds(20), body)
}
