// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

// Polling, for conditions that no event announces (a counter inside a running server, a socket's
// state). Where a handler or callback can say it happened, wait on a `Watched` value instead.
// Each check runs once more after the deadline: a test task the cooperative pool left unscheduled
// past it (2 cores busy with CPU-bound suites) still sees a condition that came true meanwhile.

/// Polls `body` every `interval` until it returns a value; throws `WaitTimedOut` naming `what`.
package func poll<T>(
    _ what: String, timeout: Duration = .seconds(10), every interval: Duration = .milliseconds(10),
    _ body: () async throws -> T?
) async throws -> T {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if let value = try await body() { return value }
        try await Task.sleep(for: interval)
    }
    if let value = try await body() { return value }
    throw WaitTimedOut(what: what, timeout: timeout)
}

/// Polls `condition` until it holds; throws `WaitTimedOut` naming `what`.
package func until(
    _ what: String, timeout: Duration = .seconds(10), every interval: Duration = .milliseconds(10),
    _ condition: () async throws -> Bool
) async throws {
    _ = try await poll(what, timeout: timeout, every: interval) { try await condition() ? true : nil }
}

/// Polls `condition` until it holds: true, or false once `timeout` passed (for `#expect`).
package func eventually(
    timeout: Duration = .seconds(10), every interval: Duration = .milliseconds(10),
    _ condition: () async throws -> Bool
) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        // A cancelled test stops polling; the final check below still runs.
        guard (try? await Task.sleep(for: interval)) != nil else { break }
    }
    return try await condition()
}
