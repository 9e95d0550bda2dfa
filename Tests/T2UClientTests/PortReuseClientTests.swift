// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import NIOPosix
import T2UClient
import T2UCore
import Testing

/// Issue 10, item 7 through the SDK (what `t2u forward --local P` and `t2u_add_port` with a
/// fixed local port run): P can be mapped again at once after a mapping whose connection we
/// closed (TIME_WAIT), and a live listener on P is an error naming P.
@Suite(.serialized) struct PortReuseClientTests {
    @Test func fixedLocalPortIsMappedAgainAtOnce() async throws {
        let server = TestServer()
        try await server.start()
        let client = try await T2UClient(options: clientOptions(server))
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let port = try await client.addPort(PortMappingRequest(uuid: "cam-away", remotePort: 80))
        // A connection accepted (parked: the device is offline), then closed by the SDK first.
        let tcp = try await ClientBootstrap(group: group).connect(host: "127.0.0.1", port: Int(port)).get()
        // Time for the SDK to accept it (it announces no accept), so it is the SDK that closes first.
        try await Task.sleep(for: .milliseconds(100))
        await client.deletePort(port)
        try await tcp.closeFuture.get()

        let again = try await client.addPort(PortMappingRequest(uuid: "cam-away", remotePort: 80, localPort: port))
        #expect(again == port)

        // A second client cannot take the live listener's port: the error names it.
        let other = try await T2UClient(options: clientOptions(server))
        do {
            _ = try await other.addPort(PortMappingRequest(uuid: "cam-away", remotePort: 80, localPort: port))
            Issue.record("a port with a live listener must be refused")
        } catch {
            #expect("\(error)".contains("\(port)") && "\(error)".contains("in use"), "\(error)")
        }
        await other.shutdown()
        await client.shutdown()
        try await group.shutdownGracefully()
        await server.stop()
    }
}
