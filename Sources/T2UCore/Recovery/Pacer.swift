// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// Token-bucket pacer: spreads packets at a rate instead of bursting a whole window. The bucket
/// holds about ten packets, one millisecond of sending at high rates, and two wake-up batches
/// at middle rates, so a shell whose timers fire late can still reach the rate.
package struct Pacer: Sendable {
    static let burstPackets = 10
    static let burstInterval = 0.001  // seconds
    /// When blocked, wake once this much sending time has accumulated (at least
    /// `minWakePackets`, at most `maxWakeBatch` bytes and half the bucket), not as soon as one
    /// packet may leave: a wake-up costs a timer, an epoll round and a sendmsg whatever it
    /// carries, so batches keep the CPU per byte of a paced 50 Mbit/s flow (sixteen packets
    /// every three milliseconds, one GSO send) near that of a flat out one; the receiver holds
    /// its reads about as long (`ReceiveCoalescing.maxHold`). The bucket holds two batches: room
    /// for a late timer without losing tokens to the cap.
    static let wakeInterval = 0.003  // seconds
    static let minWakePackets = 2
    static let maxWakeBatch = 65_536.0
    /// Longest wait the pacer will ever ask for (keeps conversions finite at tiny rates).
    static let maxDelay = Nanos.seconds(1)

    let maxDatagramSize: Int
    private var tokens: Double
    private var lastUpdate: Instant?

    package init(maxDatagramSize: Int) {
        self.maxDatagramSize = maxDatagramSize
        tokens = Double(Self.burstPackets * maxDatagramSize)
    }

    /// The bucket's size at `rate` (bytes): the burst, or two wake-up batches if more.
    func capacity(rate: Double) -> Double {
        Swift.max(
            Self.burstBytes(rate: rate, maxDatagramSize: maxDatagramSize),
            Swift.min(2 * rate * Self.wakeInterval, 2 * Self.maxWakeBatch))
    }

    /// The burst a congestion window must leave room for at `rate` (bytes): about ten packets,
    /// or one millisecond of sending at high rates. (After idle at middle rates the bucket
    /// releases up to two wake-up batches, six milliseconds at most.)
    static func burstBytes(rate: Double, maxDatagramSize: Int) -> Double {
        Swift.max(Double(burstPackets * maxDatagramSize), rate * burstInterval)
    }

    private func tokens(at now: Instant, rate: Double) -> Double {
        let cap = capacity(rate: rate)
        guard let last = lastUpdate else { return cap }
        let elapsed = Swift.max(0, (now - last).seconds)
        return Swift.min(cap, tokens + elapsed * rate)
    }

    /// `now` if a packet of `size` bytes may leave at `rate` bytes/s; otherwise when to come
    /// back: once a batch of packets may leave (`wakeInterval`).
    package func deadline(now: Instant, size: Int, rate: Double) -> Instant {
        guard rate > 0, rate.isFinite else { return now }
        let available = tokens(at: now, rate: rate)
        let need = Double(size)
        if available >= need { return now }
        // Wait for a batch, not one packet; the bucket keeps filling meanwhile, so the rate is
        // unchanged.
        let wanted = Swift.max(rate * Self.wakeInterval, Double(Self.minWakePackets * maxDatagramSize))
        let batch = Swift.max(need, Swift.min(wanted, Self.maxWakeBatch, capacity(rate: rate) / 2))
        let wait = Swift.min((batch - available) / rate, Self.maxDelay.seconds)
        return now + Nanos(Int64((wait * 1e9).rounded(.up)))
    }

    /// Spends tokens for a packet just sent (the balance may go negative if the caller sent
    /// early, e.g. a probe; later packets then wait).
    package mutating func onSent(now: Instant, size: Int, rate: Double) {
        if rate > 0, rate.isFinite {
            tokens = Swift.max(tokens(at: now, rate: rate) - Double(size), -capacity(rate: rate))
        }
        lastUpdate = now
    }
}
