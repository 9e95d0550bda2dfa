import T2UCore

/// Per-source-prefix token buckets (/24 IPv4, /64 IPv6: one host rarely has more, and a spoofer
/// gains nothing from varying the low bits) in a table of bounded size that evicts the least
/// recently used prefix when full. A flood of fresh spoofed sources therefore only pushes out
/// idle entries: it can never make the table refuse a new agent (docs/SECURITY.md §4). Live
/// channels do not pass through here (SEALED has a per-channel budget).
struct SourceRateLimiter {
    private struct Entry {
        var prefix: SourcePrefix
        var bucket: TokenBucket
        /// Neighbours in recency order (indices into `entries`, -1: none).
        var newer: Int
        var older: Int
    }

    private var slots: [SourcePrefix: Int] = [:]
    private var entries: [Entry] = []
    private var newest = -1
    private var oldest = -1
    let rate: Double
    let burst: Double
    let capacity: Int

    init(rate: Double, burst: Double, capacity: Int) {
        self.rate = rate
        self.burst = burst
        self.capacity = max(1, capacity)
    }

    var trackedSources: Int { entries.count }

    mutating func allow(_ source: NetAddress, now: Instant) -> Bool {
        let prefix = SourcePrefix(source)
        if let slot = slots[prefix] {
            moveToNewest(slot)
            return entries[slot].bucket.take(now: now)
        }
        var bucket = TokenBucket(rate: rate, burst: burst, now: now)
        let allowed = bucket.take(now: now)
        if entries.count < capacity {
            entries.append(Entry(prefix: prefix, bucket: bucket, newer: -1, older: -1))
            let slot = entries.count - 1
            slots[prefix] = slot
            linkAsNewest(slot)
        } else {
            // Full: the least recently used prefix makes room.
            let slot = oldest
            unlink(slot)
            slots[entries[slot].prefix] = nil
            entries[slot].prefix = prefix
            entries[slot].bucket = bucket
            slots[prefix] = slot
            linkAsNewest(slot)
        }
        return allowed
    }

    private mutating func moveToNewest(_ slot: Int) {
        guard slot != newest else { return }
        unlink(slot)
        linkAsNewest(slot)
    }

    private mutating func unlink(_ slot: Int) {
        let newer = entries[slot].newer, older = entries[slot].older
        if newer >= 0 { entries[newer].older = older } else { newest = older }
        if older >= 0 { entries[older].newer = newer } else { oldest = newer }
        entries[slot].newer = -1
        entries[slot].older = -1
    }

    private mutating func linkAsNewest(_ slot: Int) {
        entries[slot].older = newest
        entries[slot].newer = -1
        if newest >= 0 { entries[newest].newer = slot }
        newest = slot
        if oldest < 0 { oldest = slot }
    }
}

/// The part of a source address the limiter keys by: the /24 of IPv4, the /64 of IPv6.
struct SourcePrefix: Hashable {
    let isV6: Bool
    let bits: UInt64

    init(_ address: NetAddress) {
        switch address.host {
        case .v4(let ip):
            isV6 = false
            bits = UInt64(ip & 0xFFFF_FF00)
        case .v6(let high, _):
            isV6 = true
            bits = high
        }
    }
}
