// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Logging

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
