// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Testing

@testable import T2UCore

/// A single-bottleneck path in virtual time: random loss before the bottleneck (a lossy first
/// hop), a FIFO drop-tail queue, constant propagation delay; the receiver acknowledges every
/// packet at once through an `AckTracker`. A sender with unlimited data drives `LossRecovery`.
struct FluidPathSimulation {
    var bottleneckRate = 2.5e6  // bytes/s (20 Mbit/s)
    var oneWayDelay = Nanos.milliseconds(20)
    var bufferBytes = 100_000  // one BDP
    var randomLoss = 0.0
    var packetSize = 1200
    var seed: UInt64 = 1

    struct Outcome {
        var recovery: LossRecovery<Int>
        /// Bytes acknowledged per second of virtual time, from `measureFrom` to the end.
        var goodput: Double
        var maxBytesInFlight: Int
        var queueDrops: Int
        var sent: Int
        var modes: Set<Bbr.Mode>
    }

    func run(_ kind: CongestionControlKind, duration: Nanos, measureFrom: Nanos) throws -> Outcome {
        let rng = SeededEntropy(seed: seed)
        var r = LossRecovery<Int>(
            config: RecoveryConfig(
                maxDatagramSize: packetSize, initialRtt: .milliseconds(100), maxAckDelay: .milliseconds(25),
                congestionControl: kind, pacing: true))
        var tracker = AckTracker(maxAckDelay: .milliseconds(25))
        let start = Instant(nanoseconds: 1_000_000_000)
        let end = start + duration
        var now = start
        var linkFreeAt = start
        var acks: [(at: Instant, frame: AckFrame)] = []
        var ackHead = 0
        var pn: UInt64 = 0
        var outcome = Outcome(recovery: r, goodput: 0, maxBytesInFlight: 0, queueDrops: 0, sent: 0, modes: [])
        var measuredBytes = 0
        let serialization = Nanos.seconds(fractional: Double(packetSize) / bottleneckRate)

        func send() {
            r.onPacketSent(packetNumber: pn, now: now, size: packetSize, ackEliciting: true, inFlight: true, payload: 0)
            outcome.sent += 1
            outcome.maxBytesInFlight = Swift.max(outcome.maxBytesInFlight, r.bytesInFlight)
            defer { pn += 1 }
            if rng.nextUnitDouble() < randomLoss { return }
            let backlog = linkFreeAt > now ? (linkFreeAt - now).seconds * bottleneckRate : 0
            if backlog + Double(packetSize) > Double(bufferBytes) {
                outcome.queueDrops += 1
                return
            }
            linkFreeAt = Swift.max(now, linkFreeAt) + serialization
            let arrival = linkFreeAt + oneWayDelay
            // FIFO path: everything sent earlier has arrived by now, so the ACK can be built here.
            tracker.onPacketReceived(pn, ackEliciting: true, now: arrival)
            acks.append((arrival + oneWayDelay, AckFrame(ackDelayMicros: 0, ranges: tracker.ackRanges(maxRanges: 16))))
            tracker.onAckSent(now: arrival)
        }

        while now < end {
            while r.congestionAllowance() >= packetSize, r.pacingDeadline(now: now, size: packetSize) <= now { send() }
            var next = end
            if ackHead < acks.count { next = Swift.min(next, acks[ackHead].at) }
            if let d = r.lossDetectionDeadline() { next = Swift.min(next, d) }
            if r.congestionAllowance() >= packetSize {
                next = Swift.min(next, r.pacingDeadline(now: now, size: packetSize))
            }
            now = Swift.max(now, next)
            while ackHead < acks.count, acks[ackHead].at <= now {
                let res = try r.onAckReceived(acks[ackHead].frame, now: now)
                ackHead += 1
                if now >= start + measureFrom { measuredBytes += res.newlyAcked.reduce(0) { $0 + $1.size } }
                if let la = r.largestAcked, la > 2_000 { tracker.onAckAcknowledged(largest: la - 2_000) }
            }
            if ackHead > 4096 {
                acks.removeFirst(ackHead)
                ackHead = 0
            }
            if let d = r.lossDetectionDeadline(), d <= now {
                for _ in 0..<r.onLossDetectionTimeout(now: now).probes { send() }
            }
            if case .bbr(let b) = r.controller { outcome.modes.insert(b.mode) }
        }
        outcome.recovery = r
        outcome.goodput = Double(measuredBytes) / (duration - measureFrom).seconds
        return outcome
    }
}

@Suite struct BbrTests {
    static let mss = 1200
    let t0 = Instant(nanoseconds: 1_000_000_000)

    func bbrState(_ r: LossRecovery<Int>) -> Bbr? {
        if case .bbr(let b) = r.controller { return b }
        return nil
    }

    @Test func reachesBottleneckRateWithoutLoss() throws {
        let sim = FluidPathSimulation()
        let out = try sim.run(.bbr, duration: .seconds(8), measureFrom: .seconds(3))
        let b = sim.bottleneckRate
        #expect(out.goodput > 0.9 * b, "goodput \(out.goodput)")
        #expect(abs(out.recovery.estimatedBandwidth - b) < 0.1 * b, "btlBw \(out.recovery.estimatedBandwidth)")
        #expect(bbrState(out.recovery)?.mode == .probeBandwidth)
        #expect(out.modes.isSuperset(of: [.startup, .drain, .probeBandwidth]))
        // Model-based: it keeps the queue short instead of filling the buffer.
        #expect(out.recovery.rtt.smoothedRtt < .milliseconds(70), "srtt \(out.recovery.rtt.smoothedRtt)")
        #expect(out.recovery.congestionWindow < 3 * 100_000)
    }

    @Test func holdsBottleneckRateAtTenPercentRandomLoss() throws {
        for seed: UInt64 in [7, 8] {
            var sim = FluidPathSimulation()
            sim.randomLoss = 0.10
            sim.seed = seed
            let out = try sim.run(.bbr, duration: .seconds(8), measureFrom: .seconds(3))
            let b = sim.bottleneckRate
            // 10% of what is sent never reaches the bottleneck; the rest should keep it busy.
            #expect(out.goodput > 0.8 * b, "seed \(seed) goodput \(out.goodput)")
            #expect(out.recovery.estimatedBandwidth > 0.85 * b, "seed \(seed) btlBw \(out.recovery.estimatedBandwidth)")
            #expect(out.recovery.estimatedBandwidth < 1.15 * b, "seed \(seed) btlBw \(out.recovery.estimatedBandwidth)")
            // Loss does not inflate inflight beyond the model's bound.
            #expect(out.maxBytesInFlight < 4 * 100_000, "seed \(seed) inflight \(out.maxBytesInFlight)")
        }
    }

    @Test func cubicCollapsesWhereBbrHolds() throws {
        // Same lossy path with CUBIC: the loss-based controller cannot use it (shows the path's
        // loss is real, and why BBR exists here).
        var sim = FluidPathSimulation()
        sim.randomLoss = 0.10
        sim.seed = 7
        let out = try sim.run(.cubic, duration: .seconds(8), measureFrom: .seconds(3))
        let clean = try FluidPathSimulation().run(.cubic, duration: .seconds(8), measureFrom: .seconds(3))
        #expect(clean.goodput > 0.85 * sim.bottleneckRate, "clean goodput \(clean.goodput)")
        #expect(out.goodput < 0.5 * sim.bottleneckRate, "goodput \(out.goodput)")
    }

    @Test func probesMinRttEveryTenSeconds() throws {
        let sim = FluidPathSimulation()
        let out = try sim.run(.bbr, duration: .seconds(13), measureFrom: .seconds(3))
        #expect(out.modes.contains(.probeRtt))
        #expect(bbrState(out.recovery)?.mode == .probeBandwidth)  // and came back
        #expect(out.goodput > 0.85 * sim.bottleneckRate, "goodput \(out.goodput)")
    }

    func sample(
        acked: Int, now: Instant, rate: Double, round: UInt64, inflight: Int, rtt: Nanos = .milliseconds(40)
    ) -> RateSample {
        var s = RateSample(now: now)
        s.ackedBytes = acked
        s.deliveryRate = rate
        s.roundStart = true
        s.roundCount = round
        s.rtt = rtt
        s.priorInFlight = inflight + acked
        s.bytesInFlight = inflight
        s.totalDelivered = Int(round) * 100_000
        s.newestAckedSentTime = now - rtt
        return s
    }

    @Test func startupExitsAfterBandwidthPlateauAndDrains() {
        var b = Bbr(maxDatagramSize: Self.mss, initialRtt: .milliseconds(100))
        let rtt = RttEstimator(initialRtt: .milliseconds(40))
        var now = t0
        var rate = 100_000.0
        var round: UInt64 = 0
        // Doubling delivery rate: stays in startup.
        for _ in 0..<5 {
            round += 1
            now += .milliseconds(40)
            b.onAcked(
                sample(acked: 10_000, now: now, rate: rate, round: round, inflight: 50_000), rtt: rtt, appLimited: false
            )
            rate *= 2
        }
        #expect(b.mode == .startup)
        #expect(abs(b.pacingGain - Bbr.highGain) < 1e-9)
        // Plateau for three rounds: pipe full, drain.
        let plateau = rate / 2
        for _ in 0..<3 {
            round += 1
            now += .milliseconds(40)
            b.onAcked(
                sample(acked: 10_000, now: now, rate: plateau, round: round, inflight: 500_000), rtt: rtt,
                appLimited: false)
        }
        #expect(b.filledPipe)
        #expect(b.mode == .drain)
        #expect(b.pacingRate(smoothedRtt: .milliseconds(40)) < plateau)
        // Inflight at or below one BDP: cruise at the measured rate.
        round += 1
        now += .milliseconds(40)
        b.onAcked(
            sample(acked: 10_000, now: now, rate: plateau, round: round, inflight: 10_000), rtt: rtt, appLimited: false)
        #expect(b.mode == .probeBandwidth)
        #expect(abs(b.pacingRate(smoothedRtt: .milliseconds(40)) - plateau) < 1)
        // cwnd bounded by 2 BDP (+ 3 pacer bursts).
        let bdp = plateau * 0.040
        let burst = Pacer.burstBytes(rate: plateau, maxDatagramSize: Self.mss)
        #expect(Double(b.congestionWindow) <= 2 * bdp + 3 * burst + 1)
    }

    /// Real clocks do not start at zero: the first RTT sample must not look like an expired
    /// min RTT and send a new connection straight into PROBE_RTT.
    @Test func firstRttSampleDoesNotStartProbeRtt() {
        var b = Bbr(maxDatagramSize: Self.mss, initialRtt: .milliseconds(100))
        let rtt = RttEstimator(initialRtt: .milliseconds(40))
        let anHourOfUptime = Instant(nanoseconds: 3_600_000_000_000)
        b.onAcked(
            sample(acked: 10_000, now: anHourOfUptime, rate: 1e6, round: 1, inflight: 10_000), rtt: rtt,
            appLimited: false)
        #expect(b.mode == .startup)
        #expect(b.congestionWindow > 4 * Self.mss)
    }

    /// 2.4 Gbit/s over a 50 us path: 2 x BDP (30 KB) is far less than one pacer burst (about
    /// 1 ms of data), so the window must leave room for a few bursts, or it, not the model,
    /// caps the rate (one burst per round trip).
    @Test func windowHoldsPacerBurstsOnSubMillisecondPath() {
        var b = Bbr(maxDatagramSize: 1472, initialRtt: .milliseconds(100))
        let rtt = RttEstimator(initialRtt: .microseconds(50))
        let rate = 300e6
        var now = t0
        for round in UInt64(1)...40 {
            now += .microseconds(50)
            b.onAcked(
                sample(acked: 100_000, now: now, rate: rate, round: round, inflight: 10_000, rtt: .microseconds(50)),
                rtt: rtt, appLimited: false)
        }
        #expect(b.mode == .probeBandwidth)
        let twoMilliseconds = Int(rate * 0.002)
        #expect(b.congestionWindow >= twoMilliseconds, "cwnd \(b.congestionWindow)")
        #expect(b.congestionWindow <= 4 * Int(rate * 0.001), "cwnd \(b.congestionWindow)")
    }

    @Test func appLimitedSamplesDoNotLowerTheEstimate() {
        var b = Bbr(maxDatagramSize: Self.mss, initialRtt: .milliseconds(100))
        let rtt = RttEstimator(initialRtt: .milliseconds(40))
        b.onAcked(sample(acked: 10_000, now: t0, rate: 1e6, round: 1, inflight: 0), rtt: rtt, appLimited: false)
        var s = sample(acked: 10_000, now: t0 + .milliseconds(40), rate: 2e6, round: 2, inflight: 0)
        s.isAppLimited = true
        b.onAcked(s, rtt: rtt, appLimited: true)
        #expect(b.bandwidthEstimate == 2e6)  // app-limited but higher: accepted
        s = sample(acked: 10_000, now: t0 + .milliseconds(80), rate: 0.5e6, round: 3, inflight: 0)
        s.isAppLimited = true
        b.onAcked(s, rtt: rtt, appLimited: true)
        #expect(b.bandwidthEstimate == 2e6)
    }

    @Test func randomLossDoesNotCutTheRate() {
        var b = Bbr(maxDatagramSize: Self.mss, initialRtt: .milliseconds(100))
        let rtt = RttEstimator(initialRtt: .milliseconds(40))
        var now = t0
        for round in UInt64(1)...20 {
            now += .milliseconds(40)
            // 10% of each round lost.
            b.onCongestionEvent(
                now: now, largestLostSentTime: now - .milliseconds(30), lostBytes: 10_000, bytesInFlight: 100_000)
            b.onAcked(
                sample(acked: 90_000, now: now, rate: 2.5e6, round: round, inflight: 100_000), rtt: rtt,
                appLimited: false)
        }
        #expect(b.inflightCap == nil)
        #expect(b.bandwidthEstimate == 2.5e6)
        #expect(b.congestionWindow >= 2 * 100_000)  // 2 x BDP (2.5e6 B/s x 40 ms)
    }

    @Test func heavyLossBoundsInflightThenRecovers() throws {
        var b = Bbr(maxDatagramSize: Self.mss, initialRtt: .milliseconds(100))
        let rtt = RttEstimator(initialRtt: .milliseconds(40))
        var now = t0
        var round: UInt64 = 0
        func step(lost: Int, acked: Int) {
            round += 1
            now += .milliseconds(40)
            if lost > 0 {
                b.onCongestionEvent(
                    now: now, largestLostSentTime: now - .milliseconds(30), lostBytes: lost, bytesInFlight: 100_000)
            }
            b.onAcked(
                sample(acked: acked, now: now, rate: 2.5e6, round: round, inflight: 100_000), rtt: rtt,
                appLimited: false)
        }
        for _ in 0..<10 { step(lost: 0, acked: 100_000) }
        let healthy = b.congestionWindow
        // 40% of a round lost (a shallow buffer overflowing): inflight is capped.
        step(lost: 40_000, acked: 60_000)
        let cap = try #require(b.inflightCap)
        #expect(cap <= Int(Double(healthy) * 0.7) + 1)
        #expect(b.congestionWindow <= cap)
        #expect(b.bandwidthEstimate == 2.5e6)  // the rate model is untouched
        for _ in 0..<15 { step(lost: 0, acked: 100_000) }
        #expect(b.inflightCap == nil)
        #expect(b.congestionWindow == healthy)
    }

    @Test func persistentCongestionResetsWindow() {
        var b = Bbr(maxDatagramSize: Self.mss, initialRtt: .milliseconds(100))
        b.onPersistentCongestion(now: t0)
        #expect(b.congestionWindow == 4 * Self.mss)
    }
}
