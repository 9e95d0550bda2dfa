// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// What worked per peer (client side, keyed by device UUID): that strategy goes first next
/// time. "Relay only" is remembered too, but expires after `relayRetryAfter` so a changed
/// network gets another chance.
public struct TraversalMemory: Sendable {
    public struct Entry: Sendable, Equatable {
        public var strategy: TraversalStrategy
        public var at: Instant
    }

    public var relayRetryAfter: Nanos = .seconds(300)
    /// Bound on remembered peers (the oldest entry goes first).
    public var capacity = 1024
    private var entries: [String: Entry] = [:]

    public init() {}

    public mutating func remember(_ strategy: TraversalStrategy, for peer: String, now: Instant) {
        if entries[peer] == nil, entries.count >= capacity,
            let oldest = entries.min(by: { $0.value.at < $1.value.at })?.key
        {
            entries[oldest] = nil
        }
        entries[peer] = Entry(strategy: strategy, at: now)
    }

    /// The strategy to try first with `peer`, if any.
    public func recall(_ peer: String, now: Instant) -> TraversalStrategy? {
        guard let entry = entries[peer] else { return nil }
        if entry.strategy == .relayOnly && now - entry.at >= relayRetryAfter { return nil }
        return entry.strategy
    }

    public func entry(for peer: String) -> Entry? { entries[peer] }

    /// A relay-only verdict that no longer holds (our own network changed: UDP came back) is
    /// dropped; a strategy that worked stays.
    public mutating func forgetRelayOnly(for peer: String) {
        if entries[peer]?.strategy == .relayOnly { entries[peer] = nil }
    }
}
