// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Logging
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization
import T2UClient
import T2UCore
import T2UDevice
import T2UNIO
import T2UServer
import Testing

/// The TCP/TLS fallback end to end on loopback: the agents are given a server UDP port where
/// nothing listens (as if a firewall dropped UDP) and the server's real TCP port. They must
/// register over TCP, query and connect through it, and carry relayed data over it byte-exact.
@Suite(.serialized) struct ServerStreamFallbackTests {
    @Test func registerQueryConnectAndRelayOverTCPWhenUDPIsDead() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let (runner, tcpPort) = try await startServerWithTCPFallback(group: group)
        // Nothing listens on UDP at the TCP port's number: UDP to the server is dead.
        let deadUDPPort = UInt16(tcpPort)
        var streamOptions = ServerStreamOptions(port: tcpPort)
        streamOptions.selector.openAfter = .milliseconds(300)

        let echo = EchoService()
        try await echo.start()
        var deviceOptions = DeviceAgentOptions(uuid: "cam-tcp", server: "127.0.0.1", serverPort: deadUDPPort)
        deviceOptions.discoveryAddress = nil
        deviceOptions.serverStream = streamOptions
        let device = try DeviceAgent(options: deviceOptions)
        try await device.start()

        var options = T2UClientOptions(server: "127.0.0.1", serverPort: deadUDPPort)
        options.knownDevices = .memory
        options.firstRetryDelay = .milliseconds(200)
        options.retryInterval = .seconds(1)
        options.serverStream = streamOptions
        // Loopback punching would succeed at once: pin the link to the relay to test it over TCP.
        options.directDisabled = true
        let client = try await T2UClient(options: options)
        let clientGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        do {
            try await waitUntil("device registered over TCP", seconds: 15) { await device.isRegistered() }
            try await waitUntil("client registered over TCP", seconds: 15) { await client.status() == .connected }
            let streams = try await runner.streamCounters()
            #expect(streams.open == 2, "client and device each on a stream: \(streams)")
            #expect(await client.serverTransport() == .tcp)

            let query = try await client.query("cam-tcp")
            #expect(query.online)

            let port = try await client.addPort(PortMappingRequest(uuid: "cam-tcp", remotePort: echo.port))
            let payload = pattern(1 << 20, seed: 9)
            let started = ContinuousClock.now
            let back = try await echoRoundTrip(port: port, payload: payload, group: clientGroup)
            let elapsed = ContinuousClock.now - started
            #expect(back == payload, "1 MiB echoed byte-exact through the relay over TCP")
            let (status, path) = await client.portStatus(port)
            #expect(status == .connected)
            #expect(path?.relayed == true, "\(String(describing: path))")
            let after = try await runner.streamCounters()
            let counters = try await runner.counters()
            #expect(counters.relayedBytes > 2 << 20, "both directions relayed: \(counters.relayedBytes)")
            #expect(
                after.datagramsReceived > 1000 && after.datagramsSent > 1000,
                "the relayed datagrams crossed the streams: \(after)")
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            print(
                "figure: 1 MiB echo over the relay on TCP/TLS (loopback, debug build) in \(elapsed): \(Int(2 * 8 / seconds)) Mbit/s both ways"
            )
        } catch {
            await client.shutdown()
            await device.shutdown()
            throw error
        }
        try await Self.stop(client, device, echo, clientGroup, runner, group)
    }

    /// A link that came up over the relay while the client's UDP was blocked (its relay on the
    /// TCP fallback, the device introduced to the client's TCP address) moves to a direct path
    /// once UDP works again, inside the same connection: a TCP connection through the port
    /// carries on across the move, byte-exact.
    @Test func relayedLinkGoesDirectWhenUDPReturns() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let (runner, tcpPort) = try await startServerWithTCPFallback(group: group)
        let udpPort = try #require(runner.listening.main.first?.port)
        let echo = EchoService()
        try await echo.start()
        var deviceOptions = DeviceAgentOptions(
            uuid: "cam-udp-returns", server: "127.0.0.1", serverPort: UInt16(udpPort))
        deviceOptions.discoveryAddress = nil
        let device = try DeviceAgent(options: deviceOptions)
        try await device.start()

        // Every UDP datagram the client sends is refused while `blocked` (as behind a firewall).
        let blocked = Mutex(true)
        var options = T2UClientOptions(server: "127.0.0.1", serverPort: UInt16(udpPort))
        options.knownDevices = .memory
        options.firstRetryDelay = .milliseconds(200)
        options.retryInterval = .seconds(1)
        var streamOptions = ServerStreamOptions(port: tcpPort)
        streamOptions.selector.openAfter = .milliseconds(300)
        streamOptions.selector.probeInterval = .milliseconds(500)
        options.serverStream = streamOptions
        options.sendFaultInjector = { _ in blocked.withLock { $0 } ? EPERM : nil }
        let client = try await T2UClient(options: options)
        let clientGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        do {
            try await waitUntil("device registered", seconds: 15) { await device.isRegistered() }
            try await waitUntil("client registered over TCP", seconds: 15) { await client.status() == .connected }
            #expect(await client.serverTransport() == .tcp)
            let port = try await client.addPort(PortMappingRequest(uuid: "cam-udp-returns", remotePort: echo.port))
            try await waitUntil("link up over the relay", seconds: 15) { await client.portStatus(port).0 == .connected }
            #expect(await client.portStatus(port).1?.relayed == true)

            let first = pattern(256 << 10, seed: 3)
            let second = pattern(256 << 10, seed: 4)
            let tcp = try await ClientBootstrap(group: clientGroup).connect(host: "127.0.0.1", port: Int(port)) {
                channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
            try await tcp.executeThenClose { inbound, outbound in
                var chunks = inbound.makeAsyncIterator()
                func echoed(_ payload: ByteBuffer) async throws -> ByteBuffer {
                    try await outbound.write(payload)
                    var received = ByteBuffer()
                    while received.readableBytes < payload.readableBytes, let chunk = try await chunks.next() {
                        received.writeImmutableBuffer(chunk)
                    }
                    return received
                }
                #expect(try await echoed(first) == first, "echoed over the relay on TCP")
                // Past the discovery window (`PortMapping.traversalWindow`, 5 s): the first
                // discovery has given up and remembered the relay, as it does behind a real block.
                try await Task.sleep(for: .seconds(6))
                #expect(await client.portStatus(port).1?.relayed == true)
                blocked.withLock { $0 = false }
                try await waitUntil("client back on UDP", seconds: 15) { await client.serverTransport() == .udp }
                try await waitUntil("link moved off the relay", seconds: 20) {
                    await client.portStatus(port).1?.relayed == false
                }
                #expect(await client.portStatus(port).0 == .connected)
                #expect(try await echoed(second) == second, "the same TCP connection carries on after the move")
            }
        } catch {
            await client.shutdown()
            await device.shutdown()
            throw error
        }
        try await Self.stop(client, device, echo, clientGroup, runner, group)
    }

    /// The same from the device's side: its UDP is blocked, so it registers over TCP and the
    /// link comes up relayed. The client cannot see the device's UDP come back; its relayed link
    /// looks for a direct path again on its own (`relayedLinkRetry`) and finds one once the
    /// device's record is on UDP again.
    @Test func relayedLinkGoesDirectWhenTheDevicesUDPReturns() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let (runner, tcpPort) = try await startServerWithTCPFallback(group: group)
        let udpPort = try #require(runner.listening.main.first?.port)
        let echo = EchoService()
        try await echo.start()
        let blocked = Mutex(true)
        var streamOptions = ServerStreamOptions(port: tcpPort)
        streamOptions.selector.openAfter = .milliseconds(300)
        streamOptions.selector.probeInterval = .milliseconds(500)
        var deviceOptions = DeviceAgentOptions(
            uuid: "cam-device-udp-returns", server: "127.0.0.1", serverPort: UInt16(udpPort))
        deviceOptions.discoveryAddress = nil
        deviceOptions.serverStream = streamOptions
        deviceOptions.sendFaultInjector = { _ in blocked.withLock { $0 } ? EPERM : nil }
        let device = try DeviceAgent(options: deviceOptions)
        try await device.start()

        var options = T2UClientOptions(server: "127.0.0.1", serverPort: UInt16(udpPort))
        options.knownDevices = .memory
        options.firstRetryDelay = .milliseconds(200)
        options.retryInterval = .seconds(1)
        options.relayedLinkRetry = .seconds(2)
        options.relayedLinkRetryMax = .seconds(2)
        let client = try await T2UClient(options: options)
        let clientGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        do {
            try await waitUntil("device registered over TCP", seconds: 15) { await device.isRegistered() }
            #expect(try await runner.streamCounters().open == 1, "the device on a stream")
            let port = try await client.addPort(
                PortMappingRequest(uuid: "cam-device-udp-returns", remotePort: echo.port))
            try await waitUntil("link up over the relay", seconds: 15) { await client.portStatus(port).0 == .connected }
            let first = pattern(128 << 10, seed: 5)
            #expect(try await echoRoundTrip(port: port, payload: first, group: clientGroup) == first)
            // Past the discovery window and a retry or two: still relayed while the device is blocked.
            try await Task.sleep(for: .seconds(6))
            #expect(await client.portStatus(port).1?.relayed == true)
            blocked.withLock { $0 = false }
            try await waitUntil("link moved off the relay", seconds: 20) {
                await client.portStatus(port).1?.relayed == false
            }
            #expect(await client.portStatus(port).0 == .connected)
            // The first session was reported relayed: the look that found the path had the
            // client send first (`PunchOrder`), and the device waited as told.
            #expect(try await runner.counters().orderedPunches >= 1)
            let second = pattern(128 << 10, seed: 6)
            #expect(try await echoRoundTrip(port: port, payload: second, group: clientGroup) == second)
        } catch {
            await client.shutdown()
            await device.shutdown()
            throw error
        }
        try await Self.stop(client, device, echo, clientGroup, runner, group)
    }

    /// Stops what a test started, the agents first (they talk to the server).
    static func stop(
        _ client: T2UClient, _ device: DeviceAgent, _ echo: EchoService, _ clientGroup: EventLoopGroup,
        _ runner: ServerRunner, _ group: EventLoopGroup
    ) async throws {
        await client.shutdown()
        await device.shutdown()
        await echo.stop()
        try? await clientGroup.shutdownGracefully()
        try await runner.shutdown()
        try? await group.shutdownGracefully()
    }

    /// A plain HTTPS client (a browser, a scanner) gets a 404 and a closed connection; the
    /// listener counts it as rejected and nothing reaches the core.
    @Test func strangersGetANotFound() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let (runner, tcpPort) = try await startServerWithTCPFallback(group: group)
        let answer = try await HTTPSProbe.get(path: "/", port: tcpPort, group: group)
        #expect(answer.hasPrefix("HTTP/1.1 404"), "\(answer)")
        try await waitUntil("rejection counted") { try await runner.streamCounters().rejected == 1 }
        #expect(try await runner.counters().datagramsReceived == 0)
        try await runner.shutdown()
        try? await group.shutdownGracefully()
    }
}

/// An HTTPS GET as any web client would send it (certificate not checked: it is self-signed).
enum HTTPSProbe {
    static func get(path: String, port: Int, group: EventLoopGroup) async throws -> String {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.certificateVerification = .none
        let context = try NIOSSLContext(configuration: configuration)
        let channel = try await ClientBootstrap(group: group).connect(host: "127.0.0.1", port: port) { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(
                    NIOSSLClientHandler(context: context, serverHostname: nil))
                return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
            }
        }
        return try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(string: "GET \(path) HTTP/1.1\r\nHost: example\r\n\r\n"))
            var received = ""
            do {
                for try await chunk in inbound { received += String(buffer: chunk) }
            } catch {
                // The server closes after its answer; an unclean TLS shutdown is fine here.
            }
            return received
        }
    }
}
