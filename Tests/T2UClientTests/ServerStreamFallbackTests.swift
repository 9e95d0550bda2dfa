// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Logging
import NIOCore
import NIOPosix
import NIOSSL
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
        let client = try T2UClient(options: options)
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
            #expect(after.datagramsReceived > 1000 && after.datagramsSent > 1000, "the relayed datagrams crossed the streams: \(after)")
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            print("figure: 1 MiB echo over the relay on TCP/TLS (loopback, debug build) in \(elapsed): \(Int(2 * 8 / seconds)) Mbit/s both ways")
        } catch {
            await client.shutdown()
            await device.shutdown()
            throw error
        }
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
                try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: context, serverHostname: nil))
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
