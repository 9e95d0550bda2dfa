// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Logging
import ServiceLifecycle
import UnixSignals

/// Calls `reload` on each SIGHUP until the group shuts down gracefully, and logs its outcome.
/// Shared by `t2u-server` (configuration) and `t2usvr` (password and certificate files).
public struct HangupReloadService: Service {
    private let hangups: UnixSignalsSequence
    private let logger: Logger
    private let reload: @Sendable () async -> ReloadOutcome

    /// Traps SIGHUP from here on (its default action would end the process): make this before
    /// the work starts, so a SIGHUP right after start reloads instead of killing.
    public init(logger: Logger, reload: @escaping @Sendable () async -> ReloadOutcome) async {
        self.hangups = await UnixSignalsSequence(trapping: .sighup)
        self.logger = logger
        self.reload = reload
    }

    public func run() async throws {
        for await _ in hangups.cancelOnGracefulShutdown() {
            logger.debug("SIGHUP: reloading")
            await reload().log(to: logger)
        }
    }
}
