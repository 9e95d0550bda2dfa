// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// What worked per peer (client side, keyed by device UUID): that strategy goes first next
/// time. "Relay only" is remembered too, but expires after `relayRetryAfter` so a changed
/// network gets another chance.
package struct TraversalMemory: Sendable {
    package struct Entry: Sendable, Equatable {
        package var strategy: TraversalStrategy
        package var at: Instant
    }

    package var relayRetryAfter: Nanos = .seconds(300)
    /// Bound on remembered peers (the oldest entry goes first).
    package var capacity = 1024
    private var entries: [String: Entry] = [:]

    package init() {}

    package mutating func remember(_ strategy: TraversalStrategy, for peer: String, now: Instant) {
        if entries[peer] == nil, entries.count >= capacity,
            let oldest = entries.min(by: { $0.value.at < $1.value.at })?.key
        {
            entries[oldest] = nil
        }
        entries[peer] = Entry(strategy: strategy, at: now)
    }

    /// The strategy to try first with `peer`, if any.
    package func recall(_ peer: String, now: Instant) -> TraversalStrategy? {
        guard let entry = entries[peer] else { return nil }
        if entry.strategy == .relayOnly && now - entry.at >= relayRetryAfter { return nil }
        return entry.strategy
    }

    package func entry(for peer: String) -> Entry? { entries[peer] }

    /// A relay-only verdict that no longer holds (our own network changed: UDP came back) is
    /// dropped; a strategy that worked stays.
    package mutating func forgetRelayOnly(for peer: String) {
        if entries[peer]?.strategy == .relayOnly { entries[peer] = nil }
    }
}
