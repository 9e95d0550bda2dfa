// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Testing

@testable import T2UCore

@Suite struct PacerTests {
    let t0 = Instant(nanoseconds: 2_000_000_000)
    let size = 1000

    @Test func burstThenEvenSpacing() {
        var p = Pacer(maxDatagramSize: size)
        let rate = 1e6  // 1000 packets/s: one per ms
        var now = t0
        // A fresh bucket allows a burst of ten packets.
        for _ in 0..<10 {
            #expect(p.deadline(now: now, size: size, rate: rate) == now)
            p.onSent(now: now, size: size, rate: rate)
        }
        // Then it wakes for three packets at a time, not one.
        #expect(p.deadline(now: now, size: size, rate: rate) == now + .milliseconds(3))
        // Sending all it allows at every deadline: three packets every three milliseconds.
        var wakeTimes: [Instant] = []
        for _ in 0..<50 {
            now = p.deadline(now: now, size: size, rate: rate)
            wakeTimes.append(now)
            var sent = 0
            while p.deadline(now: now, size: size, rate: rate) == now, sent < 10 {
                p.onSent(now: now, size: size, rate: rate)
                sent += 1
            }
            #expect(sent == 3)
        }
        #expect(wakeTimes.last! - t0 == .milliseconds(150))
        for i in 1..<wakeTimes.count { #expect(wakeTimes[i] - wakeTimes[i - 1] == .milliseconds(3)) }
    }

    @Test func idleRefillsOnlyUpToTheBurst() {
        var p = Pacer(maxDatagramSize: size)
        let rate = 1e6
        p.onSent(now: t0, size: size, rate: rate)
        let later = t0 + .seconds(5)
        var sent = 0
        while p.deadline(now: later, size: size, rate: rate) == later, sent < 100 {
            p.onSent(now: later, size: size, rate: rate)
            sent += 1
        }
        #expect(sent == 10)
    }

    @Test func highRatesBurstAboutOneMillisecond() {
        var p = Pacer(maxDatagramSize: size)
        let rate = 250e6  // 2 Gbit/s: 250 packets per ms
        p.onSent(now: t0, size: size, rate: rate)
        let later = t0 + .milliseconds(10)
        var sent = 0
        while p.deadline(now: later, size: size, rate: rate) == later, sent < 1000 {
            p.onSent(now: later, size: size, rate: rate)
            sent += 1
        }
        #expect(sent == 250)
    }

    /// Empties the bucket, then sends all the pacer allows at each wake-up for `duration`, the
    /// wake-ups coming `late` after the deadlines; returns the wake-ups and packets sent.
    private func pace(rate: Double, size: Int, for duration: Nanos, late: Nanos = .zero) -> (wakes: Int, sent: Int) {
        var p = Pacer(maxDatagramSize: size)
        var now = t0
        while p.deadline(now: now, size: size, rate: rate) == now { p.onSent(now: now, size: size, rate: rate) }
        var wakes = 0
        var sent = 0
        while now < t0 + duration {
            now = p.deadline(now: now, size: size, rate: rate) + late
            wakes += 1
            while p.deadline(now: now, size: size, rate: rate) == now {
                p.onSent(now: now, size: size, rate: rate)
                sent += 1
            }
        }
        return (wakes, sent)
    }

    /// At 50 Mbit/s a packet's tokens take 0.19 ms: the pacer wakes about every three
    /// milliseconds for sixteen packets (one GSO send), not sixteen times.
    @Test func paced50MbitWakesEveryThreeMilliseconds() {
        let (wakes, sent) = pace(rate: 6.25e6, size: 1200, for: .milliseconds(100))
        #expect((32...36).contains(wakes), "\(wakes) wake-ups in 100 ms")
        #expect((515...530).contains(sent), "\(sent) packets in 100 ms (the rate is 520.8)")
    }

    /// A timer that fires a millisecond late loses nothing at 50 Mbit/s: the bucket holds two
    /// batches.
    @Test func aLateTimerLosesNoTokensAtMiddleRates() {
        let (_, sent) = pace(rate: 6.25e6, size: 1200, for: .milliseconds(100), late: .milliseconds(1))
        #expect(sent >= 515, "\(sent) packets in 100 ms (the rate is 520.8)")
    }

    /// At 2.4 Gbit/s one packet's tokens take 5 us: an empty bucket asks to be woken for a
    /// batch (half the bucket, 64 KB at most) instead of one timer per packet.
    @Test func highRateWaitsForABatchNotOnePacket() {
        let size = 1472
        var p = Pacer(maxDatagramSize: size)
        let rate = 300e6
        while p.deadline(now: t0, size: size, rate: rate) == t0 { p.onSent(now: t0, size: size, rate: rate) }
        let wake = p.deadline(now: t0, size: size, rate: rate)
        #expect(wake - t0 >= .microseconds(200), "wait \(wake - t0)")
        #expect(wake - t0 <= .microseconds(250), "wait \(wake - t0)")
        var sent = 0
        while p.deadline(now: wake, size: size, rate: rate) == wake, sent < 1000 {
            p.onSent(now: wake, size: size, rate: rate)
            sent += 1
        }
        #expect(sent == 44)  // 64 KB of 1472-byte packets
    }

    @Test func tinyRateWaitIsBounded() {
        var p = Pacer(maxDatagramSize: size)
        for _ in 0..<20 { p.onSent(now: t0, size: size, rate: 1) }
        #expect(p.deadline(now: t0, size: size, rate: 1e-9) <= t0 + Pacer.maxDelay)
        #expect(p.deadline(now: t0, size: size, rate: 0) == t0)
    }

    @Test func lossRecoveryPacesAtWindowOverRtt() {
        var r = LossRecovery<Int>(
            config: RecoveryConfig(
                maxDatagramSize: size, initialRtt: .milliseconds(100), maxAckDelay: .milliseconds(25),
                congestionControl: .cubic, pacing: true))
        // cwnd 10 000 bytes over 100 ms x 1.25: 125 000 B/s, one 1000-byte packet per 8 ms.
        #expect(abs(r.pacingRate - 125_000) < 1)
        for pn in UInt64(0)..<10 {
            #expect(r.pacingDeadline(now: t0, size: size) == t0)
            r.onPacketSent(packetNumber: pn, now: t0, size: size, ackEliciting: true, inFlight: true, payload: 0)
        }
        // Then two packets at a time: 16 ms.
        #expect(r.pacingDeadline(now: t0, size: size) == t0 + .milliseconds(16))
    }
}
