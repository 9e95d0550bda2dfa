// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Testing

@testable import T2UCore

@Suite struct AckTrackerTests {
    let t0 = Instant(nanoseconds: 5_000_000_000)
    let maxAckDelay = Nanos.milliseconds(25)

    @Test func inOrderPacketsFormOneRange() {
        var a = AckTracker(maxAckDelay: maxAckDelay)
        #expect(a.ackRanges(maxRanges: 8).isEmpty)
        for pn in UInt64(0)...4 { a.onPacketReceived(pn, ackEliciting: true, now: t0) }
        #expect(a.ackRanges(maxRanges: 8) == [0...4])
    }

    @Test func reorderingCreatesAndFillsGaps() {
        var a = AckTracker(maxAckDelay: maxAckDelay)
        for pn: UInt64 in [0, 1, 3, 4] { a.onPacketReceived(pn, ackEliciting: true, now: t0) }
        #expect(a.ackRanges(maxRanges: 8) == [3...4, 0...1])
        a.onPacketReceived(7, ackEliciting: true, now: t0)
        #expect(a.ackRanges(maxRanges: 8) == [7...7, 3...4, 0...1])
        a.onPacketReceived(2, ackEliciting: true, now: t0)  // joins both neighbours
        #expect(a.ackRanges(maxRanges: 8) == [7...7, 0...4])
        a.onPacketReceived(6, ackEliciting: true, now: t0)  // joins above
        a.onPacketReceived(10, ackEliciting: true, now: t0)
        a.onPacketReceived(8, ackEliciting: true, now: t0)  // joins below
        #expect(a.ackRanges(maxRanges: 8) == [10...10, 6...8, 0...4])
        a.onPacketReceived(12, ackEliciting: true, now: t0)
        a.onPacketReceived(9, ackEliciting: true, now: t0)
        #expect(a.ackRanges(maxRanges: 8) == [12...12, 6...10, 0...4])
    }

    @Test func duplicatesAreIgnored() {
        var a = AckTracker(maxAckDelay: maxAckDelay)
        for pn: UInt64 in [0, 1, 2, 5] { a.onPacketReceived(pn, ackEliciting: true, now: t0) }
        a.onAckSent(now: t0)
        for pn: UInt64 in [1, 5, 0, 2] { a.onPacketReceived(pn, ackEliciting: true, now: t0 + .milliseconds(1)) }
        #expect(a.ackRanges(maxRanges: 8) == [5...5, 0...2])
        #expect(a.ackDeadline() == nil)  // duplicates do not ask for an ACK
    }

    @Test func maxRangesKeepsTheHighest() {
        var a = AckTracker(maxAckDelay: maxAckDelay)
        for pn in stride(from: UInt64(0), through: 20, by: 2) { a.onPacketReceived(pn, ackEliciting: false, now: t0) }
        #expect(a.ackRanges(maxRanges: 3) == [20...20, 18...18, 16...16])
        #expect(a.ackRanges(maxRanges: 100).count == 11)
    }

    @Test func storedRangesAreBounded() {
        var a = AckTracker(maxAckDelay: maxAckDelay)
        for pn in stride(from: UInt64(0), to: 10_000, by: 2) { a.onPacketReceived(pn, ackEliciting: true, now: t0) }
        let ranges = a.ackRanges(maxRanges: .max)
        #expect(ranges.count == AckTracker.maxStoredRanges)
        #expect(ranges.first == 9_998...9_998)
    }

    @Test func singleAckElicitingPacketWaitsMaxAckDelay() {
        var a = AckTracker(maxAckDelay: maxAckDelay)
        #expect(a.ackDeadline() == nil)
        a.onPacketReceived(0, ackEliciting: true, now: t0)
        #expect(a.ackDeadline() == t0 + maxAckDelay)
    }

    @Test func secondAckElicitingPacketTriggersImmediateAck() {
        var a = AckTracker(maxAckDelay: maxAckDelay)
        a.onPacketReceived(0, ackEliciting: true, now: t0)
        a.onPacketReceived(1, ackEliciting: true, now: t0 + .milliseconds(3))
        #expect(a.ackDeadline() == t0 + .milliseconds(3))
        a.onAckSent(now: t0 + .milliseconds(3))
        #expect(a.ackDeadline() == nil)
        a.onPacketReceived(2, ackEliciting: true, now: t0 + .milliseconds(4))
        #expect(a.ackDeadline() == t0 + .milliseconds(4) + maxAckDelay)
    }

    @Test func nonAckElicitingPacketsNeverTriggerAnAck() {
        var a = AckTracker(maxAckDelay: maxAckDelay)
        for pn in UInt64(0)...5 { a.onPacketReceived(pn, ackEliciting: false, now: t0) }
        a.onPacketReceived(9, ackEliciting: false, now: t0)  // gap, but nothing to elicit
        #expect(a.ackDeadline() == nil)
        #expect(a.ackRanges(maxRanges: 4) == [9...9, 0...5])  // still reported in the next ACK
    }

    @Test func gapOrReorderTriggersImmediateAck() {
        var a = AckTracker(maxAckDelay: maxAckDelay)
        a.onPacketReceived(0, ackEliciting: true, now: t0)
        a.onAckSent(now: t0)
        a.onPacketReceived(2, ackEliciting: true, now: t0 + .milliseconds(1))  // 1 missing
        #expect(a.ackDeadline() == t0 + .milliseconds(1))
        a.onAckSent(now: t0 + .milliseconds(1))
        a.onPacketReceived(1, ackEliciting: true, now: t0 + .milliseconds(2))  // late arrival
        #expect(a.ackDeadline() == t0 + .milliseconds(2))
    }

    @Test func ackDelayMeasuredFromLargestReceipt() {
        var a = AckTracker(maxAckDelay: maxAckDelay)
        #expect(a.ackDelayMicros(now: t0) == 0)
        a.onPacketReceived(5, ackEliciting: true, now: t0)
        a.onPacketReceived(3, ackEliciting: true, now: t0 + .milliseconds(2))  // not the largest
        #expect(a.ackDelayMicros(now: t0 + .milliseconds(3)) == 3_000)
    }

    @Test func acknowledgedAckForgetsOlderRanges() {
        var a = AckTracker(maxAckDelay: maxAckDelay)
        for pn: UInt64 in [2, 3, 4, 5, 8, 9, 10, 11, 12] { a.onPacketReceived(pn, ackEliciting: true, now: t0) }
        #expect(a.ackRanges(maxRanges: 8) == [8...12, 2...5])
        a.onAckAcknowledged(largest: 10)
        #expect(a.ackRanges(maxRanges: 8) == [10...12])
        a.onAckAcknowledged(largest: 100)  // beyond everything: keep nothing below
        #expect(a.ackRanges(maxRanges: 8).isEmpty)
        a.onPacketReceived(13, ackEliciting: true, now: t0)
        #expect(a.ackRanges(maxRanges: 8) == [13...13])
    }

    @Test func extremePacketNumbersDoNotTrap() {
        var a = AckTracker(maxAckDelay: maxAckDelay)
        a.onPacketReceived(.max, ackEliciting: true, now: t0)
        a.onPacketReceived(0, ackEliciting: true, now: t0)
        a.onPacketReceived(.max - 1, ackEliciting: true, now: t0)
        #expect(a.ackRanges(maxRanges: 8) == [(.max - 1) ... .max, 0...0])
    }

    @Test func randomisedMatchesSetModel() {
        let seed: UInt64 = 0xACC0_0042
        let rng = SeededEntropy(seed: seed)
        var a = AckTracker(maxAckDelay: maxAckDelay)
        var model = Set<UInt64>()
        for _ in 0..<2_000 {
            let pn = rng.next(below: 400)
            a.onPacketReceived(pn, ackEliciting: rng.next(below: 2) == 0, now: t0)
            model.insert(pn)
        }
        let ranges = a.ackRanges(maxRanges: .max)
        var fromRanges = Set<UInt64>()
        for r in ranges { for pn in r { fromRanges.insert(pn) } }
        #expect(fromRanges == model, "seed \(seed)")
        // Descending, disjoint, separated by at least one missing number.
        for i in 1..<Swift.max(1, ranges.count) {
            #expect(ranges[i].upperBound + 1 < ranges[i - 1].lowerBound, "seed \(seed)")
        }
    }

    /// Receives `count` in-order ack-eliciting packets from `first`, sending an ACK whenever one
    /// is due at once; returns how many ACKs went out.
    private func receiveInOrder(_ a: inout AckTracker, from first: UInt64, count: UInt64, at now: Instant) -> Int {
        var acks = 0
        for pn in first..<(first + count) {
            a.onPacketReceived(pn, ackEliciting: true, now: now)
            if a.ackDeadline() == now {
                a.onAckSent(now: now)
                acks += 1
            }
        }
        return acks
    }

    @Test func bulkFlowIsAcknowledgedEveryTwentyPacketsOnceTheRttIsKnown() {
        var a = AckTracker(maxAckDelay: maxAckDelay)
        a.minRtt = .milliseconds(40)
        // The first hundred: every other packet, as RFC 9000 asks (the hundredth waits).
        #expect(receiveInOrder(&a, from: 0, count: 100, at: t0) == 49)
        // Then every twentieth.
        #expect(receiveInOrder(&a, from: 100, count: 100, at: t0) == 5)
        // Fewer than twenty wait a quarter of the min RTT (10 ms here, below maxAckDelay).
        a.onPacketReceived(200, ackEliciting: true, now: t0)
        #expect(a.ackDeadline() == t0 + .milliseconds(10))
        // A gap is still acknowledged at once.
        a.onPacketReceived(202, ackEliciting: true, now: t0 + .milliseconds(1))
        #expect(a.ackDeadline() == t0 + .milliseconds(1))
    }

    @Test func decimationNeedsTheRttAndNeverWaitsBeyondMaxAckDelay() {
        var a = AckTracker(maxAckDelay: maxAckDelay)
        #expect(receiveInOrder(&a, from: 0, count: 200, at: t0) == 100)
        a.minRtt = .milliseconds(400)
        #expect(receiveInOrder(&a, from: 200, count: 100, at: t0) == 5)
        a.onPacketReceived(300, ackEliciting: true, now: t0)
        #expect(a.ackDeadline() == t0 + maxAckDelay)
    }
}
