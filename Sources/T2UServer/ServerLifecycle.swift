// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import ServiceLifecycle

/// A `ServerRunner` as a swift-service-lifecycle `Service`: starts, serves until the group shuts
/// down gracefully (SIGTERM, SIGINT), then closes its sockets.
public struct ServerService: Service {
    public let runner: ServerRunner

    public init(runner: ServerRunner) { self.runner = runner }

    public func run() async throws {
        try await runner.start()
        // Throws only when the task is cancelled: stop all the same.
        try? await gracefulShutdown()
        try await runner.shutdown()
    }
}
