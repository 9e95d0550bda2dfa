import T2UCore

/// Per-source token buckets with a bounded table: idle sources are pruned when it fills, and a
/// flood of new addresses beyond the bound is refused rather than growing memory.
struct SourceRateLimiter {
    private var buckets: [NetAddress: TokenBucket] = [:]
    /// Pruning is O(table); at most once per second, so a flood of fresh addresses cannot make
    /// every datagram pay for it.
    private var lastPrune: Instant?
    let rate: Double
    let burst: Double
    let capacity: Int

    init(rate: Double, burst: Double, capacity: Int) {
        self.rate = rate
        self.burst = burst
        self.capacity = capacity
    }

    var trackedSources: Int { buckets.count }

    mutating func allow(_ source: NetAddress, now: Instant) -> Bool {
        // Known sources (nearly every datagram): one hash lookup, the bucket updated in place.
        if let index = buckets.index(forKey: source) { return buckets.values[index].take(now: now) }
        if buckets.count >= capacity, lastPrune.map({ now - $0 >= .seconds(1) }) ?? true {
            lastPrune = now
            prune(now: now)
        }
        guard buckets.count < capacity else { return false }
        var bucket = TokenBucket(rate: rate, burst: burst, now: now)
        let allowed = bucket.take(now: now)
        buckets[source] = bucket
        return allowed
    }

    mutating func prune(now: Instant) {
        buckets = buckets.filter { !$0.value.isFull(at: now) }
    }
}
