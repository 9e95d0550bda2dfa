// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// Classic token bucket on the caller's clock: `rate` tokens per second up to `burst`.
package struct TokenBucket: Sendable {
    package let rate: Double
    package let burst: Double
    package private(set) var tokens: Double
    private var updated: Instant

    package init(rate: Double, burst: Double, now: Instant) {
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self.updated = now
    }

    /// Takes `cost` tokens if available.
    package mutating func take(_ cost: Double = 1, now: Instant) -> Bool {
        refill(now: now)
        guard tokens >= cost else { return false }
        tokens -= cost
        return true
    }

    /// Whether the bucket would be full at `now` (an idle source that can be forgotten).
    package func isFull(at now: Instant) -> Bool {
        tokens + (now - updated).seconds * rate >= burst
    }

    private mutating func refill(now: Instant) {
        guard now > updated else { return }
        tokens = min(burst, tokens + (now - updated).seconds * rate)
        updated = now
    }
}
