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

    let maxAckDelay: Nanos
    /// Disjoint, descending, non-adjacent.
    private var ranges: [ClosedRange<PacketNumber>] = []
    private var largestReceivedTime = Instant.zero
    /// Ack-eliciting packets received since the last ACK we sent.
    private var pendingAckEliciting = 0
    private var firstPendingTime: Instant?
    /// Set when an ACK should go out without waiting (reordering, gap, or threshold reached).
    private var immediateAckTime: Instant?

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
        if firstPendingTime == nil { firstPendingTime = now }
        if immediateAckTime == nil, outOfOrder || pendingAckEliciting >= Self.ackElicitingThreshold {
            immediateAckTime = now
        }
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
        return immediateAckTime ?? first + maxAckDelay
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
