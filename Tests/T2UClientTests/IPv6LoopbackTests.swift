// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Logging
import NIOCore
import NIOPosix
import T2UClient
import T2UCore
import T2UDevice
import T2UNIO
import T2UServer
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// ::1 exists here (IPv6 not disabled).
private let ipv6Loopback: Bool = {
    let descriptor = socket(AF_INET6, Int32(SOCK_DGRAM.rawValue), 0)
    guard descriptor >= 0 else { return false }
    defer { close(descriptor) }
    var address = sockaddr_in6()
    address.sin6_family = sa_family_t(AF_INET6)
    address.sin6_addr = in6addr_loopback
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in6>.size))
        }
    } == 0
}()

/// The product's parts over IPv6 on loopback: a server bound to 127.0.0.1 and ::1 (one port
/// number, two sockets), the device agent (t2usvr's library) and the client SDK (libt2u's) given
/// the server as [::1]; both register over IPv6 and the mapped port moves bytes byte-exact.
@Suite(.serialized, .enabled(if: ipv6Loopback, "needs IPv6 loopback (::1)"))
struct IPv6LoopbackTests {
    @Test func deviceAndClientRegisterOverIPv6AndMoveBytes() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        var serverOptions = ServerRunner.Options()
        serverOptions.bindHost = "127.0.0.1,::1"
        serverOptions.port = 0
        let server = ServerRunner(
            config: ServerConfig(), options: serverOptions, logger: Logger(label: "test.server"), group: group)
        let main = try await server.start().main
        let port = UInt16(try #require(main.port))
        #expect(server.listening.main.map(\.protocol) == [.inet, .inet6], "\(server.listening.main)")
        #expect(Set(server.listening.main.compactMap(\.port)) == [Int(port)], "both families on one port number")
        #expect(Set(server.listening.observation.compactMap(\.port)).count == 1)

        let echo = EchoService()
        try await echo.start()
        var deviceOptions = DeviceAgentOptions(uuid: "cam-v6", server: "[::1]", serverPort: port)
        deviceOptions.discoveryAddress = nil
        deviceOptions.portMapping = false
        let agent = try DeviceAgent(options: deviceOptions)
        try await agent.start()
        try await waitUntil("device registered over IPv6") { await agent.isRegistered() }

        var clientOptions = T2UClientOptions(server: "::1", serverPort: port)
        clientOptions.knownDevices = .memory
        clientOptions.firstRetryDelay = .milliseconds(200)
        clientOptions.retryInterval = .seconds(1)
        let client = try await T2UClient(options: clientOptions)
        try await waitUntil("client registered over IPv6") { await client.status() == .connected }
        let info = try await client.query("cam-v6")
        #expect(info.online && info.publicIP == "::1", "the server must have seen the device at ::1: \(info)")

        let local = try await client.addPort(PortMappingRequest(uuid: "cam-v6", remotePort: echo.port))
        try await waitUntil("port connected") { await client.portStatus(local).0 == .connected }
        // The first answer may come through the relay; on loopback a direct path takes over.
        try await waitUntil("direct path") { await client.portStatus(local).1?.relayed == false }
        let payload = pattern(300_000, seed: 6)
        let loop = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let echoed = try await echoRoundTrip(port: local, payload: payload, group: loop)
        #expect(echoed == payload, "the echo must come back byte-exact over IPv6")

        await client.shutdown()
        await agent.shutdown()
        await echo.stop()
        try await server.shutdown()
        try await loop.shutdownGracefully()
        try await group.shutdownGracefully()
    }
}
