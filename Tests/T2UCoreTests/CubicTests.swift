// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Testing

@testable import T2UCore

@Suite struct CubicTests {
    static let mss = 1000
    let t0 = Instant(nanoseconds: 10_000_000_000)
    let rtt100: RttEstimator = {
        var r = RttEstimator(initialRtt: .milliseconds(100))
        r.update(sample: .milliseconds(100), ackDelay: .zero, maxAckDelay: .zero)
        return r
    }()

    func sample(_ bytes: Int, now: Instant, sentAt: Instant, rtt: Nanos? = nil, roundStart: Bool = false) -> RateSample
    {
        var s = RateSample(now: now)
        s.ackedBytes = bytes
        s.newestAckedSentTime = sentAt
        s.rtt = rtt
        s.roundStart = roundStart
        return s
    }

    @Test func initialWindowPerRfc9002() {
        #expect(Cubic(maxDatagramSize: 1200).congestionWindow == 12_000)
        #expect(Cubic(maxDatagramSize: 1452).congestionWindow == 14_520)
        #expect(Cubic(maxDatagramSize: 1500).congestionWindow == 14_720)
    }

    @Test func slowStartDoublesPerRoundTrip() {
        var c = Cubic(maxDatagramSize: Self.mss)
        let w = c.congestionWindow
        c.onAcked(sample(w, now: t0, sentAt: t0 - .milliseconds(100)), rtt: rtt100, appLimited: false)
        #expect(c.congestionWindow == 2 * w)
        #expect(c.inSlowStart)
    }

    @Test func appLimitedSenderDoesNotGrow() {
        var c = Cubic(maxDatagramSize: Self.mss)
        let w = c.congestionWindow
        c.onAcked(sample(w, now: t0, sentAt: t0 - .milliseconds(100)), rtt: rtt100, appLimited: true)
        #expect(c.congestionWindow == w)
    }

    @Test func lossReducesByBetaOncePerRecoveryPeriod() {
        var c = Cubic(maxDatagramSize: Self.mss)
        c.onAcked(sample(90_000, now: t0, sentAt: t0 - .milliseconds(100)), rtt: rtt100, appLimited: false)
        #expect(c.congestionWindow == 100_000)
        let lossAt = t0 + .milliseconds(10)
        c.onCongestionEvent(now: lossAt, largestLostSentTime: t0, lostBytes: 1000, bytesInFlight: 50_000)
        #expect(c.congestionWindow == 70_000)
        #expect(c.slowStartThreshold == 70_000)
        #expect(c.slowStartPhase == .done)
        // More losses from the same flight: same congestion event.
        c.onCongestionEvent(
            now: lossAt + .milliseconds(5), largestLostSentTime: t0 + .milliseconds(5), lostBytes: 1000,
            bytesInFlight: 50_000)
        #expect(c.congestionWindow == 70_000)
        // Acks for packets sent before the reduction do not grow the window.
        c.onAcked(
            sample(10_000, now: lossAt + .milliseconds(20), sentAt: lossAt - .milliseconds(1)), rtt: rtt100,
            appLimited: false)
        #expect(c.congestionWindow == 70_000)
        // A packet sent after the reduction was lost: a new event.
        c.onCongestionEvent(
            now: lossAt + .milliseconds(200), largestLostSentTime: lossAt + .milliseconds(50), lostBytes: 1000,
            bytesInFlight: 50_000)
        #expect(c.congestionWindow == 49_000)
    }

    @Test func windowNeverBelowMinimum() {
        var c = Cubic(maxDatagramSize: Self.mss)
        var now = t0
        for _ in 0..<30 {
            c.onCongestionEvent(
                now: now + .milliseconds(1), largestLostSentTime: now + .microseconds(500), lostBytes: 1000,
                bytesInFlight: 0)
            now += .milliseconds(2)
        }
        #expect(c.congestionWindow == 2 * Self.mss)
    }

    @Test func persistentCongestionCollapsesToMinimum() {
        var c = Cubic(maxDatagramSize: Self.mss)
        c.onAcked(sample(50_000, now: t0, sentAt: t0), rtt: rtt100, appLimited: false)
        c.onCongestionEvent(now: t0, largestLostSentTime: t0, lostBytes: 1000, bytesInFlight: 0)
        c.onPersistentCongestion(now: t0)
        #expect(c.congestionWindow == 2 * Self.mss)
    }

    /// Drives congestion avoidance with one window of acks per 100 ms RTT after a loss at
    /// 100 packets: the window must follow the cubic curve (concave up to W_max around K, then
    /// convex beyond it).
    @Test func cubicGrowthFollowsTheCurve() {
        var c = Cubic(maxDatagramSize: Self.mss)
        c.onAcked(sample(90_000, now: t0, sentAt: t0), rtt: rtt100, appLimited: false)
        let lossAt = t0 + .milliseconds(1)
        c.onCongestionEvent(now: lossAt, largestLostSentTime: t0, lostBytes: Self.mss, bytesInFlight: 0)
        #expect(c.congestionWindow == 70_000)
        let k = cubeRoot(30 / 0.4)  // seconds to regain W_max = 100 packets
        #expect(abs(k - 4.217) < 0.01)
        var now = lossAt
        var history: [(Double, Int)] = []
        while (now - lossAt).seconds < 2.2 * k {
            now += .milliseconds(100)
            let window = c.congestionWindow
            var acked = 0
            while acked < window {
                c.onAcked(sample(Self.mss, now: now, sentAt: now - .milliseconds(100)), rtt: rtt100, appLimited: false)
                acked += Self.mss
            }
            history.append(((now - lossAt).seconds, c.congestionWindow))
        }
        func window(at t: Double) -> Int { history.first { $0.0 >= t }!.1 }
        let atK = window(at: k)
        #expect(atK > 95_000 && atK < 106_000, "W(K)=\(atK)")
        // Concave: the first second grows faster than the second before K.
        #expect(window(at: 1) - 70_000 > atK - window(at: k - 1))
        // Convex beyond the plateau.
        #expect(window(at: 2 * k) > 115_000, "W(2K)=\(window(at: 2 * k))")
        #expect(window(at: 2 * k) - window(at: 2 * k - 1) > window(at: k + 1) - atK)
        #expect(!c.inSlowStart)
    }

    /// Feeds one round of `samples` RTT samples (one packet acked each).
    func round(_ c: inout Cubic, at now: inout Instant, rtt: Nanos, samples: Int = 8) {
        for i in 0..<samples {
            c.onAcked(
                sample(Self.mss, now: now, sentAt: now - rtt, rtt: rtt, roundStart: i == 0), rtt: rtt100,
                appLimited: false)
            now += .milliseconds(1)
        }
        now += rtt
    }

    @Test func hyStartEntersConservativeSlowStartThenExits() {
        var c = Cubic(maxDatagramSize: Self.mss)
        var now = t0
        round(&c, at: &now, rtt: .milliseconds(100))
        round(&c, at: &now, rtt: .milliseconds(105))  // +5 ms < threshold 12.5 ms
        #expect(c.slowStartPhase == .standard)
        round(&c, at: &now, rtt: .milliseconds(100))
        round(&c, at: &now, rtt: .milliseconds(113))  // >= 100 + 12.5
        #expect(c.slowStartPhase == .conservative)
        // Growth is a quarter of the acked bytes in CSS.
        let before = c.congestionWindow
        c.onAcked(
            sample(4_000, now: now, sentAt: now - .milliseconds(113), rtt: .milliseconds(113)), rtt: rtt100,
            appLimited: false)
        #expect(c.congestionWindow == before + 1_000)
        for _ in 0..<4 { round(&c, at: &now, rtt: .milliseconds(114)) }
        #expect(c.slowStartPhase == .conservative)
        round(&c, at: &now, rtt: .milliseconds(114))  // fifth CSS round
        #expect(c.slowStartPhase == .done)
        #expect(!c.inSlowStart)
        // ssthresh was set to the window on exit; the rest of that round grew it only linearly.
        #expect(c.congestionWindow >= c.slowStartThreshold)
        #expect(c.congestionWindow - c.slowStartThreshold < 2 * Self.mss)
    }

    @Test func hyStartReturnsToSlowStartOnSpuriousRttIncrease() {
        var c = Cubic(maxDatagramSize: Self.mss)
        var now = t0
        round(&c, at: &now, rtt: .milliseconds(100))
        round(&c, at: &now, rtt: .milliseconds(120))
        #expect(c.slowStartPhase == .conservative)
        round(&c, at: &now, rtt: .milliseconds(101))  // below the CSS baseline of 120
        #expect(c.slowStartPhase == .standard)
        #expect(c.inSlowStart)
    }

    @Test func pacingRateIsWindowOverRttWithHeadroom() {
        let c = Cubic(maxDatagramSize: Self.mss)
        let rate = c.pacingRate(smoothedRtt: .milliseconds(100))
        #expect(abs(rate - 1.25 * 10_000 / 0.1) < 1)
    }
}

@Suite struct CubicPathTests {
    @Test func hyStartLeavesSlowStartBeforeADeepBufferOverflows() throws {
        var sim = FluidPathSimulation()
        // 20 BDP: plain slow start would double until this overflows. HyStart++ sees the RTT
        // rise, grows by a quarter per round for 5 rounds, then leaves slow start without loss.
        sim.bufferBytes = 2_000_000
        let out = try sim.run(.cubic, duration: .seconds(3), measureFrom: .seconds(1))
        guard case .cubic(let c) = out.recovery.controller else {
            Issue.record("not CUBIC")
            return
        }
        #expect(c.slowStartPhase == .done)
        #expect(out.queueDrops == 0)
        #expect(c.slowStartThreshold < 1_500_000)  // set by HyStart++, not by a loss
        #expect(out.goodput > 0.9 * sim.bottleneckRate)
    }
}
