// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// Receive side: which packet numbers arrived, and when an ACK frame is due (RFC 9000 §13.2).
/// Keeps disjoint ranges, highest first, in a bounded array: in-order arrival extends the first
/// range in O(1).
package struct AckTracker: Sendable {
    /// Ranges kept at most; older (lower) ones are forgotten first when a peer causes many gaps.
    package static let maxStoredRanges = 256
    /// Ack-eliciting packets that force an immediate ACK (RFC 9000 §13.2.2).
    static let ackElicitingThreshold = 2
    /// Ack decimation, as Chromium's QUIC does it (it takes every tenth; every twentieth halves
    /// the sender's wake-ups and our sendmsg calls again, and is still one ACK per 5 ms at
    /// 50 Mbit/s and per 0.25 ms at 1 Gbit/s): once `packetsBeforeDecimation` ack-eliciting
    /// packets arrived and the RTT is known, in-order packets are acknowledged every
    /// `decimatedThreshold` or after a quarter of the minimum RTT (at most `maxAckDelay`),
    /// whichever comes first. An ACK every other packet costs the sender a wake-up per two
    /// packets and us a sendmsg; a rate-based controller needs a few ACKs per round trip, not
    /// hundreds. Gaps and reordering are still acknowledged at once, so loss detection is as
    /// fast as before.
    static let packetsBeforeDecimation = 100
    static let decimatedThreshold = 20

    let maxAckDelay: Nanos
    /// Disjoint, descending, non-adjacent.
    private var ranges: [ClosedRange<PacketNumber>] = []
    private var largestReceivedTime = Instant.zero
    /// Ack-eliciting packets received since the last ACK we sent.
    private var pendingAckEliciting = 0
    private var firstPendingTime: Instant?
    /// Set when an ACK should go out without waiting (reordering, gap, or threshold reached).
    private var immediateAckTime: Instant?
    /// Ack-eliciting packets received so far, counted up to `packetsBeforeDecimation`.
    private var ackElicitingReceived = 0
    /// The path's minimum RTT (the connection sets it once sampled): enables decimation.
    package var minRtt: Nanos?

    package init(maxAckDelay: Nanos) {
        self.maxAckDelay = maxAckDelay
        ranges.reserveCapacity(16)
    }

    package var largestReceived: PacketNumber? { ranges.first?.upperBound }

    /// Whether `pn` was recorded (and not yet forgotten).
    package func contains(_ pn: PacketNumber) -> Bool {
        ranges.contains { $0.contains(pn) }
    }

    package mutating func onPacketReceived(_ pn: PacketNumber, ackEliciting: Bool, now: Instant) {
        var outOfOrder = false
        if let first = ranges.first {
            if first.upperBound < .max, pn == first.upperBound + 1 {
                ranges[0] = first.lowerBound...pn  // common case: next in order
            } else if pn > first.upperBound {
                ranges.insert(pn...pn, at: 0)  // a gap: something is missing
                outOfOrder = true
            } else {
                guard insertBelowLargest(pn) else { return }  // duplicate
                outOfOrder = true
            }
        } else {
            ranges.append(pn...pn)
        }
        if ranges.count > Self.maxStoredRanges { ranges.removeLast(ranges.count - Self.maxStoredRanges) }
        if ranges[0].upperBound == pn { largestReceivedTime = now }

        guard ackEliciting else { return }
        pendingAckEliciting += 1
        if ackElicitingReceived < Self.packetsBeforeDecimation { ackElicitingReceived += 1 }
        if firstPendingTime == nil { firstPendingTime = now }
        if immediateAckTime == nil, outOfOrder || pendingAckEliciting >= threshold {
            immediateAckTime = now
        }
    }

    private var isDecimating: Bool {
        minRtt != nil && ackElicitingReceived >= Self.packetsBeforeDecimation
    }

    private var threshold: Int { isDecimating ? Self.decimatedThreshold : Self.ackElicitingThreshold }

    /// How long an ACK for in-order packets below the threshold may wait.
    private var ackDelay: Nanos {
        guard isDecimating, let minRtt else { return maxAckDelay }
        return Swift.min(maxAckDelay, minRtt / 4)
    }

    /// Inserts `pn` below the largest; returns false if already present.
    private mutating func insertBelowLargest(_ pn: PacketNumber) -> Bool {
        // Find the first range (descending) whose lower bound is <= pn.
        var i = 0
        while i < ranges.count, ranges[i].lowerBound > pn { i += 1 }
        if i < ranges.count, ranges[i].contains(pn) { return false }
        // pn lies between ranges[i] (below, if any) and ranges[i-1] (above, i >= 1 here).
        let joinsAbove = ranges[i - 1].lowerBound == pn + 1
        let joinsBelow = i < ranges.count && ranges[i].upperBound + 1 == pn
        switch (joinsAbove, joinsBelow) {
        case (true, true):
            ranges[i - 1] = ranges[i].lowerBound...ranges[i - 1].upperBound
            ranges.remove(at: i)
        case (true, false):
            ranges[i - 1] = pn...ranges[i - 1].upperBound
        case (false, true):
            ranges[i] = ranges[i].lowerBound...pn
        case (false, false):
            ranges.insert(pn...pn, at: i)
        }
        return true
    }

    package func ackDeadline() -> Instant? {
        guard let first = firstPendingTime else { return nil }
        return immediateAckTime ?? first + ackDelay
    }

    package func ackRanges(maxRanges: Int) -> [ClosedRange<PacketNumber>] {
        Array(ranges.prefix(Swift.max(0, maxRanges)))
    }

    package func ackDelayMicros(now: Instant) -> UInt64 {
        guard !ranges.isEmpty, now > largestReceivedTime else { return 0 }
        return UInt64((now - largestReceivedTime).microseconds)
    }

    package mutating func onAckSent(now: Instant) {
        pendingAckEliciting = 0
        firstPendingTime = nil
        immediateAckTime = nil
    }

    package mutating func onAckAcknowledged(largest: PacketNumber) {
        // The peer knows everything below `largest` we reported; keep `largest` itself so the
        // next ACK still starts from the true largest.
        while let last = ranges.last, last.upperBound < largest { ranges.removeLast() }
        if let last = ranges.last, last.lowerBound < largest, last.contains(largest) {
            ranges[ranges.count - 1] = largest...last.upperBound
        }
    }
}
