// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// Keeps repeated log lines from flooding: per key, the first `burst` occurrences in each
/// `window` are let through and the rest only counted; the first one let through after that
/// carries how many were held back. Sans-IO (time comes in); keys must come from a small set
/// (reasons, not addresses), as nothing is ever evicted.
package struct RepeatLimiter<Key: Hashable> {
    private struct Window {
        var start: Instant
        var admitted = 0
        var suppressed = 0
    }

    package let burst: Int
    package let window: Nanos
    private var windows: [Key: Window] = [:]

    package init(burst: Int, window: Nanos) {
        self.burst = max(1, burst)
        self.window = window
    }

    /// Whether to log this occurrence, and how many were suppressed before it (to say so).
    package mutating func admit(_ key: Key, now: Instant) -> (log: Bool, suppressed: Int) {
        var entry = windows[key] ?? Window(start: now)
        var carried = 0
        if now - entry.start >= window {
            carried = entry.suppressed
            entry = Window(start: now)
        }
        let log = entry.admitted < burst
        if log { entry.admitted += 1 } else { entry.suppressed += 1 }
        windows[key] = entry
        return (log, log ? carried : 0)
    }
}
