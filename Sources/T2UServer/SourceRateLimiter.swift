// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import T2UCore

/// Per-source-prefix token buckets (`AddressPrefix`: /24 IPv4, /64 IPv6; one host rarely has
/// more, and a spoofer gains nothing from varying the low bits) in an `LRUTable`, which evicts
/// the least recently used prefix when full. A flood of fresh spoofed sources therefore only
/// pushes out idle entries: it can never make the table refuse a new agent (docs/SECURITY.md §4).
/// Live channels do not pass through here (SEALED has a per-channel budget).
struct SourceRateLimiter {
    private var buckets: LRUTable<AddressPrefix, TokenBucket>
    let rate: Double
    let burst: Double

    init(rate: Double, burst: Double, capacity: Int) {
        self.rate = rate
        self.burst = burst
        self.buckets = LRUTable(capacity: max(1, capacity))
    }

    var capacity: Int { buckets.capacity }
    var trackedSources: Int { buckets.count }

    mutating func allow(_ source: NetAddress, now: Instant) -> Bool {
        let prefix = AddressPrefix(source)
        var bucket = buckets.value(for: prefix) ?? TokenBucket(rate: rate, burst: burst, now: now)
        let allowed = bucket.take(now: now)
        buckets.set(bucket, for: prefix)
        return allowed
    }
}
