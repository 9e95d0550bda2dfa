// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import ServiceLifecycle

/// A `DeviceAgent` as a swift-service-lifecycle `Service`: starts, serves until the group
/// shuts down gracefully (SIGTERM, SIGINT in `t2usvr`), then closes its sessions (telling the
/// peers) and sockets.
public struct DeviceAgentService: Service {
    public let agent: DeviceAgent

    public init(agent: DeviceAgent) { self.agent = agent }

    public func run() async throws {
        try await agent.start()
        // Throws only when the task is cancelled: stop all the same.
        try? await gracefulShutdown()
        await agent.shutdown()
    }
}
