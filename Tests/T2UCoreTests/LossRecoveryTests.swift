// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Testing

@testable import T2UCore

@Suite struct LossRecoveryTests {
    static let mss = 1200
    let t0 = Instant(nanoseconds: 1_000_000_000)
    func ms(_ v: Int64) -> Nanos { .milliseconds(v) }

    func makeRecovery(_ kind: CongestionControlKind = .cubic, pacing: Bool = false) -> LossRecovery<Int> {
        LossRecovery(
            config: RecoveryConfig(
                maxDatagramSize: Self.mss, initialRtt: .milliseconds(100), maxAckDelay: .milliseconds(25),
                congestionControl: kind, pacing: pacing))
    }

    func send(_ r: inout LossRecovery<Int>, _ pns: ClosedRange<UInt64>, at time: Instant, ackEliciting: Bool = true) {
        for pn in pns {
            r.onPacketSent(
                packetNumber: pn, now: time, size: Self.mss, ackEliciting: ackEliciting, inFlight: true,
                payload: Int(pn))
        }
    }

    func ack(_ ranges: [ClosedRange<UInt64>], delay: UInt64 = 0) -> AckFrame {
        AckFrame(ackDelayMicros: delay, ranges: ranges)
    }

    @Test func ackOfUnsentPacketIsAnError() throws {
        var r = makeRecovery()
        #expect(throws: RecoveryError.ackOfUnsentPacket(0)) { _ = try r.onAckReceived(ack([0...0]), now: t0) }
        send(&r, 0...3, at: t0)
        #expect(throws: RecoveryError.ackOfUnsentPacket(5)) {
            _ = try r.onAckReceived(ack([5...5, 0...1]), now: t0 + ms(10))
        }
        // Unordered ranges from a misbehaving peer are still checked on their maximum.
        #expect(throws: RecoveryError.ackOfUnsentPacket(9)) {
            _ = try r.onAckReceived(ack([0...1, 7...9]), now: t0 + ms(10))
        }
        #expect(r.bytesInFlight == 4 * Self.mss)
        let empty = try r.onAckReceived(ack([]), now: t0 + ms(10))
        #expect(empty.newlyAcked.isEmpty)
    }

    @Test func ackRemovesPacketsAndSamplesRtt() throws {
        var r = makeRecovery()
        send(&r, 0...9, at: t0)
        #expect(r.bytesInFlight == 10 * Self.mss)
        let res = try r.onAckReceived(ack([0...9], delay: 5_000), now: t0 + ms(50))
        #expect(res.newlyAcked.map(\.packetNumber) == Array(0...9))
        #expect(res.newlyAcked.map(\.payload) == Array(0...9))
        #expect(res.lost.isEmpty)
        #expect(res.rttUpdated)
        #expect(r.rtt.latestRtt == ms(50))
        #expect(r.bytesInFlight == 0)
        #expect(r.largestAcked == 9)
        #expect(r.lossDetectionDeadline() == nil)
        // A duplicate ACK changes nothing.
        let dup = try r.onAckReceived(ack([0...9]), now: t0 + ms(60))
        #expect(dup.newlyAcked.isEmpty && !dup.rttUpdated)
        #expect(r.rtt.latestRtt == ms(50))
    }

    @Test func rttNotSampledWhenLargestWasAlreadyAcked() throws {
        var r = makeRecovery()
        send(&r, 0...5, at: t0)
        _ = try r.onAckReceived(ack([5...5]), now: t0 + ms(40))
        let res = try r.onAckReceived(ack([5...5, 3...3]), now: t0 + ms(90))
        #expect(res.newlyAcked.map(\.packetNumber) == [3])
        #expect(!res.rttUpdated)
        #expect(r.rtt.latestRtt == ms(40))
    }

    @Test func packetThresholdLossAndTimeThresholdTimer() throws {
        var r = makeRecovery()
        send(&r, 0...5, at: t0)
        let res = try r.onAckReceived(ack([5...5]), now: t0 + ms(40))
        // 0, 1, 2 are >= 3 below the largest acked; 3 and 4 wait for the time threshold.
        #expect(res.lost.map(\.packetNumber) == [0, 1, 2])
        #expect(r.bytesInFlight == 2 * Self.mss)
        let lossDelay = ms(40) * Int64(9) / 8
        #expect(r.lossDetectionDeadline() == t0 + lossDelay)
        // Too early: nothing happens.
        let early = r.onLossDetectionTimeout(now: t0 + lossDelay - ms(1))
        #expect(early.lost.isEmpty && early.probes == 0)
        let fired = r.onLossDetectionTimeout(now: t0 + lossDelay)
        #expect(fired.lost.map(\.packetNumber) == [3, 4])
        #expect(fired.probes == 0)
        #expect(r.bytesInFlight == 0)
        #expect(r.lossDetectionDeadline() == nil)
    }

    @Test func timeThresholdLossOnAck() throws {
        var r = makeRecovery()
        send(&r, 0...0, at: t0)
        send(&r, 1...1, at: t0 + ms(200))
        let res = try r.onAckReceived(ack([1...1]), now: t0 + ms(250))
        // RTT 50 ms: packet 0 was sent 250 ms ago > 9/8 RTT although it is only one behind.
        #expect(res.lost.map(\.packetNumber) == [0])
        #expect(res.newlyAcked.map(\.packetNumber) == [1])
    }

    @Test func reorderedPacketWithinThresholdIsNotLost() throws {
        var r = makeRecovery()
        send(&r, 0...3, at: t0)
        let first = try r.onAckReceived(ack([2...3]), now: t0 + ms(40))
        #expect(first.lost.map(\.packetNumber) == [0])  // 3 behind; 1 is within both thresholds
        let second = try r.onAckReceived(ack([2...3, 1...1]), now: t0 + ms(41))
        #expect(second.newlyAcked.map(\.packetNumber) == [1])
        #expect(r.lossDetectionDeadline() == nil)
    }

    @Test func ptoBacksOffExponentiallyAndResetsOnAck() throws {
        var r = makeRecovery()
        send(&r, 0...0, at: t0)
        // No RTT sample: PTO = 100 + 4*50 + 25 = 325 ms.
        let pto = ms(325)
        #expect(r.lossDetectionDeadline() == t0 + pto)
        #expect(r.onLossDetectionTimeout(now: t0 + pto - ms(1)).probes == 0)
        let first = r.onLossDetectionTimeout(now: t0 + pto)
        #expect(first.probes == 1 && first.lost.isEmpty)
        #expect(r.ptoCount == 1)
        #expect(r.lossDetectionDeadline() == t0 + pto * Int64(2))
        let second = r.onLossDetectionTimeout(now: t0 + pto * Int64(2))
        #expect(second.probes == 2)
        #expect(r.ptoCount == 2)
        #expect(r.lossDetectionDeadline() == t0 + pto * Int64(4))
        // Probe sent and acknowledged: PTO count resets, the original packet is lost by time.
        let probeTime = t0 + pto * Int64(2)
        send(&r, 1...1, at: probeTime)
        #expect(r.lossDetectionDeadline() == probeTime + pto * Int64(4))
        let res = try r.onAckReceived(ack([1...1]), now: probeTime + ms(30))
        #expect(r.ptoCount == 0)
        #expect(res.lost.map(\.packetNumber) == [0])
        #expect(r.lossDetectionDeadline() == nil)
    }

    @Test func noTimerWithoutAckElicitingInFlight() throws {
        var r = makeRecovery()
        #expect(r.lossDetectionDeadline() == nil)
        r.onPacketSent(packetNumber: 0, now: t0, size: 50, ackEliciting: false, inFlight: false, payload: 0)
        #expect(r.lossDetectionDeadline() == nil)
        #expect(r.bytesInFlight == 0)
        #expect(r.onLossDetectionTimeout(now: t0 + .seconds(10)).probes == 0)
        // ACK-only packets are still tracked and can be acknowledged.
        let res = try r.onAckReceived(ack([0...0]), now: t0 + ms(20))
        #expect(res.newlyAcked.count == 1)
        #expect(!res.rttUpdated)  // not ack-eliciting: no RTT sample (RFC 9002 §5.1)
    }

    @Test func persistentCongestionCollapsesCubicWindow() throws {
        var r = makeRecovery(.cubic)
        send(&r, 0...0, at: t0)
        _ = try r.onAckReceived(ack([0...0]), now: t0 + ms(50))  // RTT sample: srtt 50, var 25
        // PTO = 50 + 100 + 25 = 175 ms; persistent congestion needs > 525 ms of lost packets.
        var time = t0 + ms(60)
        for pn in UInt64(1)...10 {
            send(&r, pn...pn, at: time)
            time += ms(70)
        }
        send(&r, 11...11, at: time)
        let before = r.congestionWindow
        let res = try r.onAckReceived(ack([11...11]), now: time + ms(50))
        #expect(res.lost.count == 10)
        #expect(before > 2 * Self.mss)
        #expect(r.congestionWindow == 2 * Self.mss)
    }

    @Test func lossOfShortSpanIsNotPersistentCongestion() throws {
        var r = makeRecovery(.cubic)
        send(&r, 0...0, at: t0)
        _ = try r.onAckReceived(ack([0...0]), now: t0 + ms(50))
        let cwnd = r.congestionWindow
        send(&r, 1...10, at: t0 + ms(60))
        send(&r, 11...11, at: t0 + ms(70))
        let res = try r.onAckReceived(ack([11...11]), now: t0 + ms(120))
        #expect(res.lost.count == 10)
        #expect(r.congestionWindow == Int(Double(cwnd) * 0.7))
    }

    @Test func discardAllReturnsOutstanding() throws {
        var r = makeRecovery()
        send(&r, 0...4, at: t0)
        _ = try r.onAckReceived(ack([1...2]), now: t0 + ms(10))
        #expect(r.oldestUnacked?.packetNumber == 0)
        let rest = r.discardAll()
        #expect(rest.map(\.packetNumber) == [0, 3, 4])
        #expect(r.oldestUnacked == nil)
        #expect(r.bytesInFlight == 0)
        #expect(r.lossDetectionDeadline() == nil)
    }

    @Test func skippedPacketNumbersAreTolerated() throws {
        var r = makeRecovery()
        send(&r, 0...1, at: t0)
        send(&r, 5...6, at: t0)  // 2...4 never sent
        let res = try r.onAckReceived(ack([0...6]), now: t0 + ms(30))
        #expect(res.newlyAcked.map(\.packetNumber) == [0, 1, 5, 6])
        #expect(r.bytesInFlight == 0)
    }

    @Test func congestionAllowanceTracksWindow() throws {
        var r = makeRecovery()
        let cwnd = r.congestionWindow
        #expect(r.congestionAllowance() == cwnd)
        let n = UInt64(cwnd / Self.mss)
        send(&r, 0...(n + 2), at: t0)
        #expect(r.congestionAllowance() == 0)
    }

    @Test func estimatedBandwidthFollowsDeliveryRate() throws {
        var r = makeRecovery()
        // One 1200-byte packet per ms (1.2 MB/s), each acknowledged 50 ms later.
        var pending: [(Instant, UInt64)] = []
        var now = t0
        for pn in UInt64(0)..<400 {
            r.onPacketSent(packetNumber: pn, now: now, size: Self.mss, ackEliciting: true, inFlight: true, payload: 0)
            pending.append((now + ms(50), pn))
            while let (at, p) = pending.first, at <= now {
                pending.removeFirst()
                _ = try r.onAckReceived(ack([0...p]), now: at)
            }
            now += ms(1)
        }
        #expect(abs(r.estimatedBandwidth - 1.2e6) < 0.05 * 1.2e6, "\(r.estimatedBandwidth)")
    }

    @Test func randomisedAccountingIsConsistent() throws {
        let seed: UInt64 = 0x5EED_0001
        let rng = SeededEntropy(seed: seed)
        var r = makeRecovery(.bbr)
        var tracker = AckTracker(maxAckDelay: ms(25))
        var sentCount = 0
        var inNetwork: [(arrive: Instant, pn: UInt64)] = []
        var acked = Set<UInt64>()
        var lost = Set<UInt64>()
        var now = t0
        var pn: UInt64 = 0
        for _ in 0..<3_000 {
            for _ in 0..<Int(rng.next(below: 5)) {
                r.onPacketSent(
                    packetNumber: pn, now: now, size: 1000 + Int(rng.next(below: 200)), ackEliciting: true,
                    inFlight: true, payload: Int(pn))
                sentCount += 1
                // 10% vanish; up to 1 ms of jitter reorders the rest a little.
                if rng.next(below: 10) != 0 {
                    inNetwork.append((now + .microseconds(20_000 + Int64(rng.next(below: 1_000))), pn))
                }
                pn += 1 + (rng.next(below: 20) == 0 ? 1 : 0)  // occasionally skip a number
            }
            now += .microseconds(Int64(200 + rng.next(below: 400)))
            for a in inNetwork where a.arrive <= now {
                tracker.onPacketReceived(a.pn, ackEliciting: true, now: a.arrive)
            }
            inNetwork.removeAll { $0.arrive <= now }
            if let due = tracker.ackDeadline(), due <= now {
                let frame = AckFrame(
                    ackDelayMicros: tracker.ackDelayMicros(now: now), ranges: tracker.ackRanges(maxRanges: 8))
                tracker.onAckSent(now: now)
                let res = try r.onAckReceived(frame, now: now)
                for p in res.newlyAcked {
                    #expect(acked.insert(p.packetNumber).inserted, "seed \(seed)")
                    #expect(!lost.contains(p.packetNumber), "seed \(seed)")
                }
                for p in res.lost { #expect(lost.insert(p.packetNumber).inserted, "seed \(seed)") }
                if let la = r.largestAcked, la > 100 { tracker.onAckAcknowledged(largest: la - 100) }
            }
            if let d = r.lossDetectionDeadline(), d <= now {
                for p in r.onLossDetectionTimeout(now: now).lost {
                    #expect(lost.insert(p.packetNumber).inserted, "seed \(seed)")
                }
            }
        }
        let rest = r.discardAll().map(\.packetNumber)
        #expect(Set(rest).isDisjoint(with: acked.union(lost)), "seed \(seed)")
        #expect(acked.isDisjoint(with: lost), "seed \(seed)")
        // Every sent packet ends up exactly once in acked, lost or outstanding.
        #expect(acked.count + lost.count + rest.count == sentCount, "seed \(seed)")
        #expect(acked.count > sentCount * 3 / 4, "seed \(seed) acked \(acked.count) lost \(lost.count) of \(sentCount)")
        #expect(lost.count >= sentCount / 20, "seed \(seed)")
        #expect(r.bytesInFlight == 0)
    }

    @Test func appLimitedSamplesDoNotLowerTheBandwidthEstimate() throws {
        var r = makeRecovery()
        var now = t0
        var pn: UInt64 = 0
        // Phase 1: 1 packet/ms, acked 50 ms later (1.2 MB/s).
        // Phase 2: app-limited, 1 packet every 4 ms (0.3 MB/s).
        func run(packets: Int, spacing: Nanos, appLimited: Bool) throws {
            var pending: [(Instant, UInt64)] = []
            for _ in 0..<packets {
                if appLimited { r.onAppLimited() }
                r.onPacketSent(
                    packetNumber: pn, now: now, size: Self.mss, ackEliciting: true, inFlight: true, payload: 0)
                pending.append((now + ms(50), pn))
                pn += 1
                now += spacing
                while let (at, p) = pending.first, at <= now {
                    pending.removeFirst()
                    _ = try r.onAckReceived(ack([0...p]), now: at)
                }
            }
            for (at, p) in pending { _ = try r.onAckReceived(ack([0...p]), now: at) }
        }
        try run(packets: 300, spacing: ms(1), appLimited: false)
        let full = r.estimatedBandwidth
        #expect(abs(full - 1.2e6) < 0.06e6, "\(full)")
        try run(packets: 300, spacing: ms(4), appLimited: true)
        #expect(r.estimatedBandwidth == full)
    }

    @Test func sentPacketQueueWrapsAndGrows() {
        var q = SentPacketQueue<Int>(capacity: 16)
        func packet(_ pn: UInt64) -> SentPacket<Int> {
            SentPacket(
                packetNumber: pn, timeSent: t0, size: 1, ackEliciting: true, inFlight: true, payload: Int(pn),
                delivered: 0, deliveredTime: t0, firstSentTime: t0, isAppLimited: false)
        }
        var next: UInt64 = 0
        // Slide a window of 10 across many wraps of the 16-slot ring.
        for _ in 0..<10 {
            q.append(packet(next))
            next += 1
        }
        for pn in UInt64(0)..<1000 {
            #expect(q.remove(pn)?.payload == Int(pn))
            q.trimFront()
            q.append(packet(next))
            next += 1
        }
        #expect(q.count == 10)
        #expect(q.basePacketNumber == 1000)
        // Keep the oldest while 100 more arrive: the ring must grow and keep order.
        for _ in 0..<100 {
            q.append(packet(next))
            next += 1
        }
        #expect(q.count == 110)
        #expect(q[1000]?.payload == 1000)
        #expect(q[1109]?.payload == 1109)
        #expect(q[1110] == nil)
        #expect(q.remove(1000) != nil)
        #expect(q.remove(1000) == nil)
        q.trimFront()
        #expect(q.first?.packetNumber == 1001)
        #expect(q.removeAll().map(\.packetNumber) == Array(1001...1109))
        #expect(q.isEmpty)
    }

    @Test func resetForNewPathForgetsPathEstimates() throws {
        var r = makeRecovery()
        send(&r, 0...20, at: t0)
        _ = try r.onAckReceived(ack([0...10]), now: t0 + ms(30))
        #expect(r.rtt.hasSample)
        #expect(r.congestionWindow > 10 * Self.mss)
        r.resetForNewPath()
        #expect(!r.rtt.hasSample)
        #expect(r.rtt.smoothedRtt == ms(100))
        #expect(r.congestionWindow == 10 * Self.mss)
        #expect(r.estimatedBandwidth == 0)
        // Old packets are still tracked.
        #expect(r.bytesInFlight == 10 * Self.mss)
        let res = try r.onAckReceived(ack([0...20]), now: t0 + ms(60))
        #expect(res.newlyAcked.count == 10)
    }

    @Test func pacingDisabledAllowsImmediateSend() {
        var r = makeRecovery(pacing: false)
        send(&r, 0...20, at: t0)
        #expect(r.pacingDeadline(now: t0, size: Self.mss) == t0)
    }
}
