// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// Interrupt moderation for a UDP socket read in userspace: when datagrams arrive one at a time
/// but often (a paced flow behind a bottleneck: at 50 Mbit/s one every 0.19 ms), the next read
/// waits until a few have queued in the socket instead of waking per datagram. A wake-up costs
/// a context switch, two epoll rounds, a timer and a recvmmsg whatever it brings, and on a VM
/// that was most of the receiver's CPU per byte. An isolated datagram (interactive traffic,
/// handshakes) is read at once: the hold applies only while datagrams arrive fast enough for
/// `minBatch` of them within `maxHold` and we send nothing that may be answered between reads
/// (a one-way flow: its receiver sends only decimated ACKs), and it adds at most `maxHold` to a
/// datagram's delivery.
package struct ReceiveCoalescing: Sendable {
    /// Longest a read is held back: the latency a one-way flow accepts. A NIC's adaptive
    /// interrupt moderation allows up to about a millisecond; three, the length of the sender's
    /// pacing batches (`Pacer.wakeInterval`), brings a 50 Mbit/s receiver down to about 330
    /// wake-ups a second.
    package static let maxHold = Nanos.microseconds(3_000)
    /// Datagrams a held read aims to find waiting (fewer if `maxHold` comes first).
    static let batchGoal = 16.0
    /// Below this many per `maxHold`, holding saves too little: read at once.
    static let minBatch = 2.0
    /// Weight of the newest batch in the arrival-rate average.
    static let rateGain = 0.25

    /// Datagrams per second, averaged over read batches (0 until two batches were seen).
    private(set) var arrivalRate = 0.0
    private var lastBatch: Instant?

    package init() {}

    /// A read returned `datagrams` at `now`: how long to wait before the next read (nil: read
    /// at once). `sentSinceLastBatch`: we sent something the peer may answer (not a pure ACK)
    /// since the previous read; then no hold, as the answer may come next (a request and its
    /// response, a ping-pong).
    package mutating func holdAfterBatch(datagrams: Int, sentSinceLastBatch: Bool, now: Instant) -> Nanos? {
        guard datagrams > 0 else { return nil }
        defer { lastBatch = now }
        guard let last = lastBatch else { return nil }
        let interval = Swift.max((now - last).seconds, 1e-6)
        let sample = Double(datagrams) / interval
        // A pause ends the train at once: the read after it is not held for a rate long gone.
        let paused = sample * Self.maxHold.seconds < Self.minBatch
        arrivalRate = arrivalRate == 0 || paused ? sample : arrivalRate + Self.rateGain * (sample - arrivalRate)
        // An exchange, or already batching (or falling behind): no reason to wait.
        if sentSinceLastBatch || Double(datagrams) >= Self.batchGoal { return nil }
        guard arrivalRate * Self.maxHold.seconds >= Self.minBatch else { return nil }
        return Nanos.seconds(fractional: Swift.min(Self.batchGoal / arrivalRate, Self.maxHold.seconds))
    }
}
