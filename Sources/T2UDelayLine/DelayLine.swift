// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import T2UCore

/// One direction of an impaired link, sans-IO: frame lengths and times (nanoseconds of any
/// monotonic clock) in, ring slots and deadlines out. The caller keeps the frame bytes in a ring
/// of `capacity` slots indexed like this queue: `offer` names the slot to fill, `pop` the slot to
/// send. Order is kept (a FIFO, as one link is): jitter never reorders, it only delays.
///
/// Per frame, in this order: random loss (seeded); the queue limit of the rate limiter (tail
/// drop while `queueLimit` frames wait for tokens); the token bucket (`rate`, `burst`); then
/// the propagation delay plus uniform jitter in [-jitter, +jitter].
package struct DelayLine: Sendable {
    package struct Config: Sendable, Equatable {
        /// One-way propagation delay.
        package var delayNanos: Int64
        /// Uniform jitter around the delay; never reorders (FIFO is kept).
        package var jitterNanos: Int64
        /// Loss probability in parts per million (10_000 = 1 %).
        package var lossPPM: Int
        /// Bits per second; 0 = unlimited.
        package var rateBitsPerSecond: Int64
        /// Token bucket depth in bytes (at least one frame).
        package var burstBytes: Int
        /// Frames that may wait for the rate limiter before new ones are dropped.
        package var queueLimit: Int
        package var seed: UInt64

        package init(
            delayNanos: Int64 = 0, jitterNanos: Int64 = 0, lossPPM: Int = 0, rateBitsPerSecond: Int64 = 0,
            burstBytes: Int = 16 * 1024, queueLimit: Int = 1000, seed: UInt64 = 1
        ) {
            self.delayNanos = delayNanos
            self.jitterNanos = jitterNanos
            self.lossPPM = lossPPM
            self.rateBitsPerSecond = rateBitsPerSecond
            self.burstBytes = burstBytes
            self.queueLimit = queueLimit
            self.seed = seed
        }
    }

    package enum Verdict: Equatable, Sendable {
        /// Accepted: fill ring slot `slot` with the frame.
        case queued(slot: Int)
        case lost
        case queueFull
        /// Every slot holds a frame still in flight.
        case overflow
    }

    package struct Counters: Sendable, Equatable {
        package var offered = 0
        package var delivered = 0
        package var lost = 0
        package var queueDrops = 0
        package var overflows = 0
    }

    package let config: Config
    package let capacity: Int
    package private(set) var counters = Counters()

    // Ring metadata, allocated once: release time and rate-limiter departure per slot.
    private var release: [Int64]
    private var departure: [Int64]
    private var head = 0  // oldest frame in flight
    private var waiting = 0  // newest frames still waiting for the rate limiter
    private var count = 0
    private var lastRelease = Int64.min
    private var lastDeparture = Int64.min
    // Token bucket: credit in bit-nanoseconds (bits x 1e9) as of `lastDeparture`.
    private var credit: Int64
    private var rng: SplitMix64

    package init(config: Config, capacity: Int) {
        precondition(capacity > 0, "capacity must be positive")
        self.config = config
        self.capacity = capacity
        release = Array(repeating: 0, count: capacity)
        departure = Array(repeating: 0, count: capacity)
        credit = Self.bucketDepth(config)
        rng = SplitMix64(seed: config.seed)
    }

    package var inFlight: Int { count }

    /// The slot the next accepted frame gets, or nil when every slot is in flight (read such a
    /// frame into a spare buffer: `offer` will refuse it).
    package var nextSlot: Int? { count < capacity ? (head + count) % capacity : nil }

    /// Frames waiting for the rate limiter at `now` (the queue the limit applies to).
    package mutating func backlog(now: Int64) -> Int {
        advanceShaper(now: now)
        return waiting
    }

    /// A frame of `length` bytes arrives at `now`.
    package mutating func offer(length: Int, now: Int64) -> Verdict {
        counters.offered += 1
        if config.lossPPM > 0, Int(rng.next() % 1_000_000) < config.lossPPM {
            counters.lost += 1
            return .lost
        }
        advanceShaper(now: now)
        if config.rateBitsPerSecond > 0, waiting >= config.queueLimit {
            counters.queueDrops += 1
            return .queueFull
        }
        guard count < capacity else {
            counters.overflows += 1
            return .overflow
        }
        let leaves = shape(length: length, now: now)
        var due = leaves &+ config.delayNanos
        if config.jitterNanos > 0 {
            let span = UInt64(2 * config.jitterNanos + 1)
            due = due &+ Int64(rng.next() % span) - config.jitterNanos
        }
        due = max(due, leaves, lastRelease)
        lastRelease = due
        let slot = (head + count) % capacity
        release[slot] = due
        departure[slot] = leaves
        count += 1
        if config.rateBitsPerSecond > 0, leaves > now { waiting += 1 }
        return .queued(slot: slot)
    }

    /// When the oldest frame is due, or nil when nothing is in flight.
    package var nextDeadline: Int64? { count > 0 ? release[head] : nil }

    /// The slot of the oldest frame if it is due at `now`; the caller sends it before the next
    /// `offer` (the slot is free again from then on).
    package mutating func pop(now: Int64) -> Int? {
        guard count > 0, release[head] <= now else { return nil }
        let slot = head
        head = (head + 1) % capacity
        count -= 1
        waiting = min(waiting, count)  // a due frame has left the rate limiter long ago
        counters.delivered += 1
        return slot
    }

    // MARK: - rate limiter

    /// Frames still waiting for the token bucket are the newest `waiting` ones (departures
    /// never decrease along the FIFO), so the ones that left form a prefix.
    private mutating func advanceShaper(now: Int64) {
        while waiting > 0, departure[(head + count - waiting) % capacity] <= now {
            waiting -= 1
        }
    }

    private static func bucketDepth(_ config: Config) -> Int64 {
        Int64(config.burstBytes) * 8 * 1_000_000_000
    }

    /// Departure time from the token bucket of a frame arriving at `now` (FIFO behind the
    /// previous one), spending its tokens.
    private mutating func shape(length: Int, now: Int64) -> Int64 {
        let rate = config.rateBitsPerSecond
        guard rate > 0 else { return now }
        let depth = Self.bucketDepth(config)
        let start = max(now, lastDeparture)
        if lastDeparture != Int64.min {
            // Refill since the previous departure, capped (and guarded against overflow).
            let elapsed = start - lastDeparture
            let full = (depth - credit) / rate + 1
            credit = elapsed >= full ? depth : min(depth, credit + elapsed * rate)
        }
        let need = Int64(length) * 8 * 1_000_000_000
        var leaves = start
        if credit < need {
            let wait = (need - credit + rate - 1) / rate
            leaves += wait
            credit += wait * rate
        }
        credit -= need
        lastDeparture = leaves
        return leaves
    }
}
