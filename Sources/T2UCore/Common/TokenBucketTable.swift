// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// Token buckets per key (source or destination address), bounded without ever refusing a new
/// key: two generations of `capacity / 2` entries; when the current one fills, the previous is
/// forgotten. O(1) per use, so a flood of new keys costs no scans. A forgotten key starts again
/// with a full bucket; pair the table with a global bucket to bound the total.
package struct TokenBucketTable<Key: Hashable & Sendable>: Sendable {
    package let rate: Double
    package let burst: Double
    package let capacity: Int
    private var current: [Key: TokenBucket] = [:]
    private var previous: [Key: TokenBucket] = [:]

    package init(rate: Double, burst: Double, capacity: Int) {
        self.rate = rate
        self.burst = burst
        self.capacity = max(2, capacity)
    }

    /// Takes `cost` tokens from `key`'s bucket if it has them.
    package mutating func take(_ key: Key, cost: Double = 1, now: Instant) -> Bool {
        var bucket: TokenBucket
        if let known = current.removeValue(forKey: key) {
            bucket = known
        } else if let older = previous.removeValue(forKey: key) {
            bucket = older
        } else {
            bucket = TokenBucket(rate: rate, burst: burst, now: now)
        }
        let taken = bucket.take(cost, now: now)
        if current.count >= capacity / 2 {
            previous = current
            current = [:]
        }
        current[key] = bucket
        return taken
    }

    /// Keys remembered now (at most `capacity`).
    package var count: Int { current.count + previous.count }
}
