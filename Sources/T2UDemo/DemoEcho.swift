// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import NIOPosix
import T2UNIO

/// The device's service for outside clients: echoes every byte back (flow.c prints the reply).
package struct DemoEcho {
    package let port: Int
    private let channel: Channel

    /// Binds 127.0.0.1:`preferredPort`, or a free port when that one is taken.
    package static func start(group: EventLoopGroup, preferredPort: Int) async throws -> DemoEcho {
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 16)
            .childChannelInitializer { child in
                child.eventLoop.makeCompletedFuture { try child.pipeline.syncOperations.addHandler(TCPEchoHandler()) }
            }
        let channel: Channel
        do {
            channel = try await bootstrap.bind(host: "127.0.0.1", port: preferredPort).get()
        } catch {
            channel = try await bootstrap.bind(host: "127.0.0.1", port: 0).get()
        }
        guard let port = channel.localAddress?.port else { throw ChannelError.inappropriateOperationForState }
        return DemoEcho(port: port, channel: channel)
    }

    package func close() async {
        try? await channel.close()
    }
}
