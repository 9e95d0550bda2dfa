// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Logging
import ServiceLifecycle
import UnixSignals

/// What one reload did, as `HangupReloadService` logs it: `summary` at info (nil: nothing was
/// applied), each of `warnings` as a warning, each of `errors` as an error.
public struct ReloadOutcome: Sendable, Equatable {
    public var summary: String?
    public var warnings: [String]
    public var errors: [String]

    public init(summary: String?, warnings: [String] = [], errors: [String] = []) {
        self.summary = summary
        self.warnings = warnings
        self.errors = errors
    }

    /// Applied; `summary` says what changed.
    public static func applied(_ summary: String, warnings: [String] = []) -> ReloadOutcome {
        ReloadOutcome(summary: summary, warnings: warnings)
    }

    /// Nothing applied, the running values stay; `reason` says why and what to do.
    public static func refused(_ reason: String) -> ReloadOutcome {
        ReloadOutcome(summary: nil, errors: [reason])
    }

    public func log(to logger: Logger) {
        if let summary { logger.info("\(summary)") }
        for warning in warnings { logger.warning("\(warning)") }
        for error in errors { logger.error("\(error)") }
    }
}

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
