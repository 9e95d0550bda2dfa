// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import ServiceLifecycle
import UnixSignals

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

/// Reloads the configuration on each SIGHUP until the group shuts down.
public struct ServerReloadService: Service {
    private let reloader: ServerConfigReloader
    private let hangups: UnixSignalsSequence

    /// Traps SIGHUP from here on (its default action would end the process): make this before
    /// the server starts, so a SIGHUP right after start reloads instead.
    public init(reloader: ServerConfigReloader) async {
        self.reloader = reloader
        self.hangups = await UnixSignalsSequence(trapping: .sighup)
    }

    public func run() async throws {
        for await _ in hangups.cancelOnGracefulShutdown() {
            await reloader.reload()
        }
    }
}
