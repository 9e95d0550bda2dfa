// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// Token-bucket pacer: spreads packets at a rate instead of bursting a whole window. The bucket
/// holds about ten packets, or one millisecond of sending at high rates, so a shell whose timers
/// fire with ~1 ms granularity can still reach the rate.
package struct Pacer: Sendable {
    static let burstPackets = 10
    static let burstInterval = 0.001  // seconds
    /// When blocked, wake once this much sending time (at most `maxWakeBatch` bytes) has
    /// accumulated, not as soon as one packet may leave.
    static let wakeInterval = 0.000_25  // seconds
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

    func capacity(rate: Double) -> Double {
        Self.burstBytes(rate: rate, maxDatagramSize: maxDatagramSize)
    }

    /// Largest burst the pacer releases at once at `rate` (bytes): about ten packets, or one
    /// millisecond of sending at high rates.
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
    /// back: once that packet may leave, or at high rates once a batch of packets may.
    package func deadline(now: Instant, size: Int, rate: Double) -> Instant {
        guard rate > 0, rate.isFinite else { return now }
        let available = tokens(at: now, rate: rate)
        let need = Double(size)
        if available >= need { return now }
        // At multi-Gbit rates one packet's tokens take a few microseconds: waking for each
        // would cost a timer and a tiny send batch per packet. Wait for a batch instead; the
        // bucket keeps filling meanwhile, so the rate is unchanged.
        let batch = Swift.min(Swift.max(need, rate * Self.wakeInterval), Self.maxWakeBatch, capacity(rate: rate))
        let wait = Swift.min((Swift.max(need, batch) - available) / rate, Self.maxDelay.seconds)
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
