// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import UnixSignals

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// SIGINT and SIGTERM, caught from the moment this is created (swift-service-lifecycle's
/// `UnixSignalsSequence`): create it before starting work so a signal that arrives during
/// start-up still leads to a clean shutdown (the default action would kill the process).
package struct TerminationSignals: Sendable {
    private let signals: UnixSignalsSequence

    package init() async {
        signals = await UnixSignalsSequence(trapping: .sigint, .sigterm)
    }

    /// Suspends until the next signal; returns its number (SIGTERM if the task is cancelled).
    @discardableResult
    package func wait() async -> Int32 {
        for await signal in signals { return signal.rawValue }
        return SIGTERM
    }
}
