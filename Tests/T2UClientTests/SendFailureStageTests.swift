// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import NIOPosix
import Synchronization
import T2UClient
import T2UCore
import T2UNIO
import T2UServer
import T2UTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Which sends of one agent the kernel "refuses" (injected in its NIO shell), by stage:
/// the first two to the server (registration), then every `serverEvery`-th to it (keepalives,
/// signaling, relay); every send to a non-loopback address (a LAN candidate this host cannot
/// route to); the first `peerFirst` to the peer (punches, handshake) and then every
/// `peerEvery`-th (data).
final class FaultPlan: Sendable {
    struct Counts { var toServer = 0, toPeer = 0, failedToServer = 0, failedToPeer = 0, failedUnroutable = 0 }
    let code: CInt
    let server: NetAddress
    let serverEvery: Int, peerFirst: Int, peerEvery: Int
    private let counts = Mutex(Counts())

    init(code: CInt, server: NetAddress, serverEvery: Int = 5, peerFirst: Int = 2, peerEvery: Int = 7) {
        self.code = code
        self.server = server
        self.serverEvery = serverEvery
        self.peerFirst = peerFirst
        self.peerEvery = peerEvery
    }

    var snapshot: Counts { counts.withLock { $0 } }

    var injector: @Sendable (NetAddress) -> CInt? {
        { destination in self.decide(destination) }
    }

    private func decide(_ destination: NetAddress) -> CInt? {
        counts.withLock { c in
            if destination.host != .v4(0x7F00_0001) {
                c.failedUnroutable += 1
                return code
            }
            if destination == server {
                c.toServer += 1
                guard c.toServer <= 2 || c.toServer % serverEvery == 0 else { return nil }
                c.failedToServer += 1
                return code
            }
            c.toPeer += 1
            guard c.toPeer <= peerFirst || c.toPeer % peerEvery == 0 else { return nil }
            c.failedToPeer += 1
            return code
        }
    }
}

/// Issue 10, item 1: a refused send costs one datagram. Every listed errno is injected into
/// both agents' sockets at every stage; registration, keepalives, a direct and a relayed
/// transfer all go on.
@Suite(.serialized) struct SendFailureStageTests {
    @Test(arguments: [ENETUNREACH, EHOSTUNREACH, EPERM, EADDRNOTAVAIL, ENOBUFS])
    func agentsCarryOnThroughRefusedSends(code: CInt) async throws {
        var config = ServerConfig()
        config.keepaliveSeconds = 1
        let server = TestServer(config: config)
        try await server.start()
        let echo = EchoService()
        try await echo.start()
        let device = try TestDevice(uuid: "cam-sf", server: server.address)
        let devicePlan = FaultPlan(code: code, server: server.address)
        try await device.state.submit { $0.driver.sendFaultInjector = devicePlan.injector }.get()
        try await device.start()  // registered despite the refused first sends

        var options = clientOptions(server)
        let clientPlan = FaultPlan(code: code, server: server.address)
        options.sendFaultInjector = clientPlan.injector
        let client = try await T2UClient(options: options)
        try await waitUntil("client registered", seconds: 15) { await client.status() == .connected }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)

        let port = try await client.addPort(PortMappingRequest(uuid: "cam-sf", remotePort: echo.port))
        try await waitUntil("direct link", seconds: 15) { await client.portStatus(port).0 == .connected }
        let payload = pattern(200_000, seed: 3)
        #expect(try await echoRoundTrip(port: port, payload: payload, group: group) == payload, "direct transfer")

        var relayOptions = options
        relayOptions.directDisabled = true
        let relayPlan = FaultPlan(code: code, server: server.address)
        relayOptions.sendFaultInjector = relayPlan.injector
        let relayed = try await T2UClient(options: relayOptions)
        try await waitUntil("relay client registered", seconds: 15) { await relayed.status() == .connected }
        let relayPort = try await relayed.addPort(PortMappingRequest(uuid: "cam-sf", remotePort: echo.port))
        try await waitUntil("relayed link", seconds: 15) { await relayed.portStatus(relayPort).0 == .connected }
        #expect(await relayed.portStatus(relayPort).1?.relayed == true)
        #expect(try await echoRoundTrip(port: relayPort, payload: payload, group: group) == payload, "relayed transfer")

        // Keepalives (every second here) keep flowing through refused ones.
        let keepalivesBefore = devicePlan.snapshot.toServer
        // The plan counts what the device sends and announces nothing: polled for two more.
        let talking = await eventually(timeout: .seconds(5)) { devicePlan.snapshot.toServer >= keepalivesBefore + 2 }
        #expect(talking, "the device keeps talking to its server")
        #expect(try await device.state.submit { $0.signaling.status == .registered }.get())
        #expect(await client.status() == .connected)
        #expect(try await client.query("cam-sf").online)

        for (name, plan) in [("device", devicePlan), ("client", clientPlan), ("relayed client", relayPlan)] {
            let c = plan.snapshot
            #expect(
                c.failedToServer > 0 && c.failedToPeer + c.failedUnroutable > 0,
                "\(name): every stage saw refusals: \(c)")
        }
        let counters = try await device.state.submit { $0.driver.udp?.counters }.get()
        #expect((counters?.sendErrorsByErrno[code] ?? 0) > 0, "counted per errno: \(String(describing: counters))")

        await relayed.shutdown()
        await client.shutdown()
        try await group.shutdownGracefully()
        await device.stop()
        await echo.stop()
        await server.stop()
    }
}
