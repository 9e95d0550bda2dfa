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
        #expect(p.deadline(now: now, size: size, rate: rate) == now + .milliseconds(1))
        // Sending at every deadline: exactly one packet per millisecond afterwards.
        var sendTimes: [Instant] = []
        for _ in 0..<100 {
            now = p.deadline(now: now, size: size, rate: rate)
            sendTimes.append(now)
            p.onSent(now: now, size: size, rate: rate)
        }
        #expect(sendTimes.last! - t0 == .milliseconds(100))
        for i in 1..<sendTimes.count { #expect(sendTimes[i] - sendTimes[i - 1] == .milliseconds(1)) }
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

    /// At 2.4 Gbit/s one packet's tokens take 5 us: an empty bucket asks to be woken for a
    /// batch (64 KB) instead of one timer per packet.
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
        #expect(r.pacingDeadline(now: t0, size: size) == t0 + .milliseconds(8))
    }
}
