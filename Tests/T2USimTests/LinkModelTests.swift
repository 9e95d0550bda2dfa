// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import T2UCore
import T2USim
import Testing

@Suite struct LinkModelTests {
    private func model(_ c: LinkConditions, seed: UInt64) -> LinkModel {
        LinkModel(conditions: c, entropy: SeededEntropy(seed: seed))
    }

    private func ms(_ v: Int64) -> Instant { Instant(nanoseconds: v * 1_000_000) }

    @Test func perfectLinkDeliversOnceImmediately() {
        var link = model(.perfect, seed: 1)
        for i in 0..<100 {
            let now = Instant(nanoseconds: Int64(i) * 1000)
            let times = link.transmit(size: 1200, now: now)
            #expect(Array(times) == [now])
        }
        #expect(link.stats.sent == 100)
        #expect(link.stats.delivered == 100)
        #expect(link.stats.bytesDelivered == 120_000)
    }

    @Test(arguments: [UInt64(1), 42, 0xDEAD_BEEF])
    func delayAndJitterStayInBounds(seed: UInt64) {
        // Packets 5 ms apart: jitter (2 ms) never has to be clamped to keep order, so the extra
        // delay is uniform in 0...2 ms.
        let c = LinkConditions(delay: .milliseconds(10), jitter: .milliseconds(2))
        var link = model(c, seed: seed)
        var extras: [Int64] = []
        for i in 0..<4000 {
            let now = Instant(nanoseconds: Int64(i) * 5_000_000)
            let times = link.transmit(size: 1000, now: now)
            #expect(times.count == 1, "seed \(seed)")
            guard let t = times.first else { continue }
            let extra = t - now - .milliseconds(10)
            #expect(extra >= .zero && extra <= .milliseconds(2), "seed \(seed) packet \(i): \(extra)")
            extras.append(extra.value)
        }
        let spread = extras.max()! - extras.min()!
        let mean = Double(extras.reduce(0, +)) / Double(extras.count)
        #expect(spread > 1_950_000, "seed \(seed): spread \(spread) ns")
        #expect(abs(mean - 1e6) < 60_000, "seed \(seed): mean jitter \(mean) ns")
    }

    @Test(arguments: [UInt64(1), 42])
    func jitterAloneKeepsOrder(seed: UInt64) {
        // Packets 0.1 ms apart with 2 ms jitter: the link holds a packet back rather than let it
        // overtake, so arrivals never go backwards and stay within delay + jitter.
        var link = model(LinkConditions(delay: .milliseconds(10), jitter: .milliseconds(2)), seed: seed)
        var last = Instant(nanoseconds: .min)
        for i in 0..<10_000 {
            let now = Instant(nanoseconds: Int64(i) * 100_000)
            guard let t = link.transmit(size: 1000, now: now).first else { continue }
            #expect(t >= last, "seed \(seed): packet \(i) overtook")
            #expect(t - now >= .milliseconds(10) && t - now <= .milliseconds(12), "seed \(seed) packet \(i)")
            last = t
        }
        #expect(link.stats.reordered == 0)
    }

    @Test(arguments: [UInt64(7), 1234, 99_999])
    func lossRateMatchesWithinTolerance(seed: UInt64) {
        var link = model(LinkConditions(lossRate: 0.1), seed: seed)
        let n = 100_000
        var lost = 0
        for i in 0..<n where link.transmit(size: 100, now: Instant(nanoseconds: Int64(i))).isEmpty {
            lost += 1
        }
        let rate = Double(lost) / Double(n)
        // sigma = sqrt(0.1 * 0.9 / 1e5) ~ 0.00095: 0.005 is over five sigma.
        #expect(abs(rate - 0.1) < 0.005, "seed \(seed): observed loss \(rate)")
        #expect(link.stats.droppedRandom == UInt64(lost))
        #expect(link.stats.delivered == UInt64(n - lost))
    }

    @Test func totalLossDropsEverything() {
        var link = model(LinkConditions(lossRate: 1), seed: 3)
        for i in 0..<1000 { #expect(link.transmit(size: 10, now: Instant(nanoseconds: Int64(i))).isEmpty) }
        #expect(link.stats.delivered == 0)
    }

    @Test(arguments: [UInt64(5), 77])
    func reorderingMakesLaterPacketsOvertake(seed: UInt64) {
        let c = LinkConditions(
            delay: .milliseconds(10), jitter: .milliseconds(1),
            reorderRate: 0.05, reorderDelay: .milliseconds(5))
        var link = model(c, seed: seed)
        var arrivals: [(sequence: Int, time: Instant)] = []
        let n = 20_000
        for i in 0..<n + 100 {
            // The last 100 packets are not reordered, so every held-back packet has successors.
            if i == n { link.conditions.reorderRate = 0 }
            let now = Instant(nanoseconds: Int64(i) * 200_000)  // 0.2 ms apart: 5 ms = 25 packets
            for t in link.transmit(size: 500, now: now) { arrivals.append((i, t)) }
        }
        // Delivery order: by time, ties by send order (as the simulator's event queue does).
        let order = arrivals.sorted { ($0.time, $0.sequence) < ($1.time, $1.sequence) }.map(\.sequence)
        var overtaken = 0
        var highest = -1
        for s in order {
            if s < highest { overtaken += 1 }
            highest = max(highest, s)
        }
        let fraction = Double(link.stats.reordered) / Double(n)
        #expect(abs(fraction - 0.05) < 0.01, "seed \(seed): reorder fraction \(fraction)")
        // Every held-back packet is overtaken (5 ms extra >> 0.2 ms spacing + 1 ms jitter).
        #expect(
            overtaken == Int(link.stats.reordered), "seed \(seed): overtaken \(overtaken) of \(link.stats.reordered)")
        #expect(overtaken > 0)
    }

    @Test(arguments: [UInt64(11), 12])
    func duplicationDeliversTwoCopies(seed: UInt64) {
        var link = model(LinkConditions(delay: .milliseconds(1), duplicateRate: 0.02), seed: seed)
        let n = 50_000
        var twice = 0
        for i in 0..<n {
            let now = Instant(nanoseconds: Int64(i) * 10_000)
            let times = link.transmit(size: 100, now: now)
            #expect(times.count >= 1, "seed \(seed)")
            if times.count == 2 {
                twice += 1
                #expect(times[0] == now + .milliseconds(1) && times[1] == times[0], "seed \(seed)")
            }
        }
        let fraction = Double(twice) / Double(n)
        #expect(abs(fraction - 0.02) < 0.005, "seed \(seed): duplicate fraction \(fraction)")
        #expect(link.stats.duplicated == UInt64(twice))
        #expect(link.stats.delivered == UInt64(n + twice))
    }

    @Test func bandwidthSerialisesAtTheConfiguredRate() {
        // 10 Mbit/s: a 1250-byte packet takes exactly 1 ms on the wire.
        var link = model(LinkConditions(delay: .milliseconds(5), bandwidthBitsPerSecond: 10e6), seed: 1)
        for i in 0..<100 {
            let times = link.transmit(size: 1250, now: .zero)
            #expect(Array(times) == [ms(Int64(i) + 1 + 5)], "packet \(i)")
        }
        #expect(link.backlogBytes(at: .zero) == 125_000)
        #expect(link.backlogBytes(at: ms(50)) == 62_500)
        // An idle link starts serialising at once.
        #expect(Array(link.transmit(size: 1250, now: ms(1000))) == [ms(1006)])
    }

    @Test(arguments: [UInt64(21), 22])
    func offeredLoadAboveCapacityIsCappedToTheRate(seed: UInt64) {
        // 50 Mbit/s bottleneck, 100 Mbit/s offered for one second with a large queue: the last
        // packet leaves after ~2 s, the rate seen by the receiver is the bottleneck rate.
        var link = model(LinkConditions(jitter: .microseconds(50), bandwidthBitsPerSecond: 50e6), seed: seed)
        var last = Instant.zero
        let packets = 100e6 / 8 / 1200
        for i in 0..<Int(packets) {
            let now = Instant(nanoseconds: Int64(Double(i) * 1e9 / packets))
            for t in link.transmit(size: 1200, now: now) { last = max(last, t) }
        }
        let seconds = Double(last.nanoseconds) / 1e9
        let rate = Double(link.stats.bytesDelivered) * 8 / seconds
        #expect(abs(rate - 50e6) / 50e6 < 0.01, "seed \(seed): delivered rate \(rate)")
    }

    @Test func dropTailAtQueueLimit() {
        // 10 packets of 1250 B fit the 12 500 B queue; a burst of 100 keeps the first 10.
        let c = LinkConditions(bandwidthBitsPerSecond: 10e6, queueLimitBytes: 12_500)
        var link = model(c, seed: 1)
        var accepted = 0
        for _ in 0..<100 where !link.transmit(size: 1250, now: .zero).isEmpty { accepted += 1 }
        #expect(accepted == 10)
        #expect(link.stats.droppedQueue == 90)
        // After 5 ms five packets have left, so five more fit.
        accepted = 0
        for _ in 0..<20 where !link.transmit(size: 1250, now: ms(5)).isEmpty { accepted += 1 }
        #expect(accepted == 5)
        #expect(link.backlogBytes(at: ms(5)) == 12_500)
        // An idle link accepts a packet larger than the limit rather than black-holing it.
        #expect(link.transmit(size: 20_000, now: ms(100)).count == 1)
    }

    @Test func sameSeedSameTimesDifferentSeedDifferentTimes() {
        let c = LinkConditions(
            delay: .milliseconds(20), jitter: .milliseconds(3), lossRate: 0.05, reorderRate: 0.02,
            reorderDelay: .milliseconds(4), duplicateRate: 0.01, bandwidthBitsPerSecond: 20e6,
            queueLimitBytes: 30_000)
        func run(_ seed: UInt64) -> [[Instant]] {
            var link = model(c, seed: seed)
            return (0..<5000).map { i in
                Array(link.transmit(size: 1000 + i % 400, now: Instant(nanoseconds: Int64(i) * 300_000)))
            }
        }
        #expect(run(9) == run(9))
        #expect(run(9) != run(10))
    }

    @Test func statsStayConsistentUnderAllImpairments() {
        var link = model(.lossyWireless, seed: 31)
        var copies: UInt64 = 0
        for i in 0..<30_000 {
            copies += UInt64(link.transmit(size: 1200, now: Instant(nanoseconds: Int64(i) * 250_000)).count)
        }
        let s = link.stats
        #expect(s.delivered == copies)
        #expect(s.delivered == s.sent - s.droppedRandom - s.droppedQueue + s.duplicated)
        #expect(s.droppedQueue > 0)  // 38.4 Mbit/s offered into 20 Mbit/s
        #expect(s.droppedRandom > 0 && s.reordered > 0)
    }

    @Test func conditionsChangeAtRunTime() {
        var link = model(LinkConditions(delay: .milliseconds(50)), seed: 1)
        #expect(Array(link.transmit(size: 100, now: .zero)) == [ms(50)])
        link.conditions = LinkConditions(delay: .milliseconds(10))
        // FIFO: the shorter delay cannot let this packet overtake the one still in flight.
        #expect(Array(link.transmit(size: 100, now: ms(1))) == [ms(50)])
        #expect(Array(link.transmit(size: 100, now: ms(100))) == [ms(110)])
        link.conditions.lossRate = 1
        #expect(link.transmit(size: 100, now: ms(200)).isEmpty)
    }

    @Test func presetsAreSane() {
        let wan = LinkConditions.wan(rateMbit: 100, rttMs: 40, loss: 0.01)
        #expect(wan.delay == .milliseconds(20))
        #expect(wan.bandwidthBitsPerSecond == 100e6)
        #expect(wan.queueLimitBytes == 500_000)
        #expect(wan.lossRate == 0.01)
        #expect(LinkConditions() == .perfect)
        #expect(LinkConditions.lan.bandwidthBitsPerSecond == 1e9)
    }
}
