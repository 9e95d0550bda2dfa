// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// Refuses replayed initiations: per initiator static key, the TAI64N timestamps accepted
/// recently, in an LRU table of `capacity` keys.
///
/// A timestamp newer than every accepted one is fresh. One up to `reorderAllowance` older than
/// the newest is accepted once (a client's concurrent connections start within milliseconds of
/// each other, and a lost initiation is retransmitted after a newer one got through); the
/// `recentLimit` timestamps of that span are remembered to refuse their replay. Anything older,
/// or at or below a timestamp dropped from that set, is refused.
///
/// Limit: a key evicted from the table (4096 newer keys since its last initiation) starts
/// afresh, so its old initiations are accepted once more. Clients make a key per process and
/// the device bounds handshakes per source, so an attacker replays only within that budget.
struct InitiationReplayGuard {
    static let capacity = 4096
    static let reorderAllowance: Nanos = .seconds(10)
    static let recentLimit = 16

    private struct Record {
        var newest: Tai64N
        /// Accepted timestamps within the allowance below `newest` (including it).
        var recent: [Tai64N]
        /// Everything at or below this was accepted or has aged out.
        var floor: Tai64N?
    }

    private var table = LRUTable<[UInt8], Record>(capacity: capacity)

    /// Whether `timestamp` from `initiatorKey` is fresh; records it when it is.
    mutating func accept(_ timestamp: Tai64N, from initiatorKey: [UInt8]) -> Bool {
        guard var record = table.value(for: initiatorKey) else {
            table.set(Record(newest: timestamp, recent: [timestamp], floor: nil), for: initiatorKey)
            return true
        }
        if let floor = record.floor, timestamp <= floor { return false }
        if timestamp > record.newest {
            record.newest = timestamp
        } else {
            guard record.newest.nanoseconds(since: timestamp) <= Self.reorderAllowance.value,
                !record.recent.contains(timestamp)
            else { return false }
        }
        record.recent.append(timestamp)
        let newest = record.newest
        record.recent.removeAll { newest.nanoseconds(since: $0) > Self.reorderAllowance.value }
        if record.recent.count > Self.recentLimit, let smallest = record.recent.min() {
            record.recent.removeAll { $0 == smallest }
            record.floor = max(record.floor ?? smallest, smallest)
        }
        table.set(record, for: initiatorKey)
        return true
    }
}
