// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Logging
import NIOCore
import NIOPosix
import T2UCore
import T2UNIO
import T2UTestSupport
import Testing

@testable import T2UServer

/// An agent as the product will run it: one UDP socket carrying signaling to the server and
/// the transport to peers (EndpointDriver + SignalingClient), on its own event loop.
final class SignalingAgent: Sendable {
    /// The agent's parts, on its loop.
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
    let identity: StaticIdentity

    init(loop: EventLoop, role: SignalingRole, uuid: String, server: NetAddress, seed: UInt64) throws {
        let entropy = SeededEntropy(seed: seed)
        identity = StaticIdentity.generate(entropy)
        let driver = EndpointDriver(
            endpoint: TransportEndpoint(
                options: .init(config: TransportConfig(), identity: identity, acceptIncoming: role == .device),
                entropy: entropy),
            eventLoop: loop)
        let signaling = try SignalingClient(
            config: SignalingClientConfig(role: role, uuid: uuid, identity: identity, server: server),
            entropy: entropy, now: EndpointDriver.now())
        state = LoopOwned(sending: State(driver: driver, signaling: signaling), eventLoop: loop)
    }

    func start() async throws {
        _ = try await state.flatSubmit { $0.driver.start() }.get()
        try await state.submit { state in
            state.driver.attachSignaling(state.signaling) { state.events.append($0) }
        }.get()
    }

    /// Runs `body` on the loop every 20 ms until it returns a value (at most `seconds`).
    func await<T: Sendable>(
        _ what: String, seconds: Double = 10, _ body: @escaping @Sendable (State) -> T?
    ) async throws -> T {
        try await T2UTestSupport.poll(what, timeout: .milliseconds(Int(seconds * 1000)), every: .milliseconds(20)) {
            try await state.submit(body).get()
        }
    }

    func registered() async throws {
        _ = try await self.await("registration") { $0.signaling.status == .registered ? true : nil }
    }

    func queryResult(for uuid: String) async throws -> SignalingMessage.QueryResult {
        let id = try await state.submit { $0.signaling.query(uuid: uuid, now: EndpointDriver.now()) }.get()
        state.execute { $0.driver.requestStep() }
        return try await self.await("query result") {
            for case .queryResult(let requestID, let result) in $0.events where requestID == id { return result }
            return nil
        }
    }

    func connectResult(for uuid: String, connectionID: ConnectionID) async throws -> SignalingMessage.ConnectResult {
        let id = try await state.submit {
            $0.signaling.connect(
                uuid: uuid, clientConnectionID: connectionID, candidates: [], now: EndpointDriver.now())
        }.get()
        state.execute { $0.driver.requestStep() }
        return try await self.await("connect result") {
            for case .connectResult(let requestID, let result) in $0.events where requestID == id { return result }
            return nil
        }
    }
}

enum AgentTestError: Error { case timedOut(String) }

@Suite(.serialized) struct AgentOverServerTests {
    /// Device and client register with a real server over UDP, the client asks the server to
    /// introduce it, and a TCP connection crosses the tunnel to the device's service, on the path
    /// given: straight to the device, or relayed by the server (by connection ID).
    @Test(arguments: [false, true])
    func tcpCrossesTheTunnelAfterAnIntroduction(relayed: Bool) async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 3)
        let loops = Array(group.makeIterator())
        var options = ServerRunner.Options()
        options.bindHost = "127.0.0.1"
        options.port = 0
        let server = ServerRunner(
            config: ServerConfig(), options: options, logger: Logger(label: "test.server"), group: group)
        let (serverMain, _) = try await server.start()
        let serverAddress = try #require(NetAddress(serverMain))

        let echo = try await ServerBootstrap(group: group)
            .childChannelInitializer { $0.pipeline.addHandler(TCPEchoHandler()) }
            .bind(host: "127.0.0.1", port: 0).get()
        let echoPort = try #require(echo.localAddress?.port)

        let device = try SignalingAgent(loop: loops[1], role: .device, uuid: "cam-0001", server: serverAddress, seed: 1)
        let client = try SignalingAgent(loop: loops[2], role: .client, uuid: "app-0001", server: serverAddress, seed: 2)
        try await device.start()
        try await device.state.submit { device in
            device.driver.onAccept = { connection in
                TunnelService(driver: device.driver, connection: connection).serveIncomingStreams(policy: .deviceOnly)
            }
        }.get()
        try await client.start()
        try await device.registered()
        try await client.registered()

        // Direct: the handshake goes to the device's public address from a query. Relayed: to
        // the server, which forwards by connection ID once CONNECT named ours.
        let target: SocketAddress
        if relayed {
            target = serverMain
        } else {
            let query = try await client.queryResult(for: "cam-0001")
            #expect(query.online && query.publicKey == device.identity.publicKey)
            target = SocketAddress(try #require(query.publicAddress))
        }
        // The connection belongs to the client's loop: it leaves the loop only bound to it.
        let deviceKey = device.identity.publicKey
        let (connectionID, connection) = try await client.state.submit { client in
            let connection = try client.driver.connect(to: target, remoteStaticKey: deviceKey, password: nil)
            return (connection.localConnectionID, NIOLoopBound(connection, eventLoop: client.driver.eventLoop))
        }.get()
        let result = try await client.connectResult(for: "cam-0001", connectionID: connectionID)
        #expect(result.online)
        #expect(
            result.devicePublicKey == device.identity.publicKey,
            "the server must hand out the key the device registered")
        let tunnel = try await client.state.submit { client in
            LoopOwned(
                TunnelService(driver: client.driver, connection: connection.value), eventLoop: client.driver.eventLoop)
        }.get()
        try await tunnel.flatSubmit { $0.established }.get()
        let local = try await tunnel.flatSubmit { $0.listen(target: .deviceSelf(port: UInt16(echoPort))) }.get()

        let payload = ByteBuffer(bytes: (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        let tcp = try await ClientBootstrap(group: group).connect(to: local) { channel in
            channel.eventLoop.makeCompletedFuture {
                try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
            }
        }
        let echoed = try await tcp.executeThenClose { inbound, outbound in
            try await outbound.write(payload)
            var received = ByteBuffer()
            for try await chunk in inbound {
                received.writeImmutableBuffer(chunk)
                if received.readableBytes >= payload.readableBytes { break }
            }
            return received
        }
        #expect(echoed == payload, "relayed=\(relayed): echo differs")

        let relayedPackets = try await server.counters().relayedPackets
        if relayed {
            #expect(relayedPackets > 100, "the data should have crossed the server's relay")
        } else {
            #expect(relayedPackets == 0, "a direct path must not touch the relay")
        }
        _ = try? await client.state.flatSubmit { $0.driver.close() }.get()
        _ = try? await device.state.flatSubmit { $0.driver.close() }.get()
        try await echo.close()
        try await server.shutdown()
        try await group.shutdownGracefully()
    }
}
