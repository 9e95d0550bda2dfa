// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import NIOPosix
import T2UCore
import T2UNIO
import T2UTestSupport
import Testing

/// A mapped local port can be bound again at once after its connections closed from our side
/// (TIME_WAIT), while a port with a live listener stays an error that names it.
@Suite("Local port reuse")
struct PortReuseTests {
    @Test func portIsFreeAgainRightAfterOurSideClosedAConnection() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        let first = LoopOwned(
            sending: TunnelPortListener(eventLoop: loop, target: .deviceSelf(port: 7)), eventLoop: loop)
        let port = try #require(try await first.flatSubmit { $0.bind(port: 0) }.get().port)
        // A TCP connection accepted (parked: no tunnel), then closed by the listener first:
        // the accepted socket's side goes to TIME_WAIT on `port`.
        let tcp = try await ClientBootstrap(group: group).connect(host: "127.0.0.1", port: port).get()
        // The listener announces no accept: its count is polled.
        _ = try await eventually(timeout: .seconds(2)) { try await first.submit { $0.openConnectionCount }.get() == 1 }
        try await first.submit { $0.close() }.get()
        try await tcp.closeFuture.get()

        let second = LoopOwned(
            sending: TunnelPortListener(eventLoop: loop, target: .deviceSelf(port: 7)), eventLoop: loop)
        let again = try await second.flatSubmit { $0.bind(port: port) }.get()
        #expect(again.port == port, "TIME_WAIT must not keep the port")

        // A live listener is a real conflict: refused, with the port in the error.
        let third = LoopOwned(
            sending: TunnelPortListener(eventLoop: loop, target: .deviceSelf(port: 7)), eventLoop: loop)
        await #expect(throws: PortInUse(host: "127.0.0.1", port: port)) {
            _ = try await third.flatSubmit { $0.bind(port: port) }.get()
        }
        #expect(PortInUse(host: "127.0.0.1", port: port).description.contains("\(port)"))
        try await second.submit { $0.close() }.get()
        try await group.shutdownGracefully()
    }
}
