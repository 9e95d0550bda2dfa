// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Testing

@testable import T2UCore

@Suite struct ReceiveCoalescingTests {
    let t0 = Instant(nanoseconds: 1_000_000_000)

    /// Datagrams arrive every `spacing` for `duration`; each read takes all that arrived, and
    /// the next is issued after the hold asked for (or waits for the next arrival).
    private struct Trickle {
        var reads = 0
        var datagrams = 0
        var longestHold = Nanos.zero
        var longestWait = Nanos.zero
    }

    private func trickle(
        _ c: inout ReceiveCoalescing, spacing: Nanos, for duration: Nanos, answering: Bool = false
    ) -> Trickle {
        var result = Trickle()
        var now = t0
        var nextArrival = t0
        var oldestWaiting: Instant?
        while now < t0 + duration {
            var batch = 0
            while nextArrival <= now {
                if oldestWaiting == nil { oldestWaiting = nextArrival }
                batch += 1
                nextArrival += spacing
            }
            guard batch > 0 else {
                now = nextArrival
                continue
            }
            result.reads += 1
            result.datagrams += batch
            if let oldestWaiting { result.longestWait = max(result.longestWait, now - oldestWaiting) }
            oldestWaiting = nil
            if let hold = c.holdAfterBatch(datagrams: batch, sentSinceLastBatch: answering, now: now) {
                result.longestHold = max(result.longestHold, hold)
                now += hold
            } else {
                now = nextArrival
            }
        }
        return result
    }

    @Test func aPacedFlowAt50MbitIsReadAboutEveryThreeMilliseconds() {
        var c = ReceiveCoalescing()
        // 1200-byte datagrams at 50 Mbit/s: one every 192 us, 1042 in 200 ms.
        let t = trickle(&c, spacing: .microseconds(192), for: .milliseconds(200))
        #expect(t.reads <= 90, "\(t.reads) reads for \(t.datagrams) datagrams")
        #expect(t.longestWait <= ReceiveCoalescing.maxHold)
    }

    @Test func aSlowFlowIsNeverHeld() {
        var c = ReceiveCoalescing()
        // 4 Mbit/s of 1200-byte datagrams: one per 2.4 ms, fewer than `minBatch` per `maxHold`.
        let t = trickle(&c, spacing: .microseconds(2_400), for: .milliseconds(200))
        #expect(t.reads == t.datagrams)
        #expect(t.longestHold == .zero)
    }

    @Test func aFastTrickleIsReadInBatchesOfAboutTheGoal() {
        var c = ReceiveCoalescing()
        // 200 Mbit/s arriving one at a time: 4167 datagrams in 200 ms.
        let t = trickle(&c, spacing: .microseconds(48), for: .milliseconds(200))
        #expect(t.reads <= 600, "\(t.reads) reads for \(t.datagrams) datagrams")
        #expect(t.longestWait <= ReceiveCoalescing.maxHold)
    }

    @Test func fullBatchesAreNotHeld() {
        var c = ReceiveCoalescing()
        var now = t0
        for _ in 0..<50 {
            #expect(c.holdAfterBatch(datagrams: 64, sentSinceLastBatch: false, now: now) == nil)
            now += .microseconds(100)
        }
    }

    @Test func theReadAfterAPauseIsNotHeld() {
        var c = ReceiveCoalescing()
        _ = trickle(&c, spacing: .microseconds(192), for: .milliseconds(100))
        // Silence, then one datagram: nothing suggests another follows soon.
        #expect(c.holdAfterBatch(datagrams: 1, sentSinceLastBatch: false, now: t0 + .seconds(1)) == nil)
        #expect(c.holdAfterBatch(datagrams: 0, sentSinceLastBatch: false, now: t0 + .seconds(2)) == nil)
    }

    /// A ping-pong every 80 us (loopback) arrives as often as a 150 Mbit/s flow, but each
    /// datagram is answered: a hold would add a millisecond to every round.
    @Test func anAnsweredTrickleIsNeverHeld() {
        var c = ReceiveCoalescing()
        let t = trickle(&c, spacing: .microseconds(80), for: .milliseconds(100), answering: true)
        #expect(t.reads == t.datagrams)
        #expect(t.longestHold == .zero)
    }
}
