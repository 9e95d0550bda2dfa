// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Testing

@testable import T2UDelayLine

/// The delay line on a virtual clock: what the lab's figures rest on.
@Suite struct DelayLineTests {
    let ms: Int64 = 1_000_000

    /// Offers frames of `length` every `gap` ns for `count` frames and pops whatever is due in
    /// between; returns (offer time, release time) of every delivered frame, in order.
    func drive(
        _ line: inout DelayLine, count: Int, gap: Int64, length: Int = 1500, start: Int64 = 0
    )
        -> [(sent: Int64, got: Int64)]
    {
        var sentAt = [Int: Int64]()
        var queue = [Int]()  // slots in order, as the I/O keeps them
        var out = [(sent: Int64, got: Int64)]()
        var now = start
        func drain(until t: Int64) {
            while let due = line.nextDeadline, due <= t {
                let slot = line.pop(now: due)!
                #expect(slot == queue.removeFirst())
                out.append((sentAt[slot]!, due))
            }
        }
        for _ in 0..<count {
            drain(until: now)
            if case .queued(let slot) = line.offer(length: length, now: now) {
                sentAt[slot] = now
                queue.append(slot)
            }
            now += gap
        }
        drain(until: Int64.max)
        return out
    }

    @Test func delayIsExact() {
        var line = DelayLine(config: .init(delayNanos: 20 * ms), capacity: 256)  // 200 in flight
        let out = drive(&line, count: 1000, gap: 100_000)
        #expect(out.count == 1000)
        #expect(out.allSatisfy { $0.got - $0.sent == 20 * ms })
        #expect(line.counters.delivered == 1000 && line.inFlight == 0)
    }

    @Test func nothingIsDueEarly() {
        var line = DelayLine(config: .init(delayNanos: 5 * ms), capacity: 8)
        _ = line.offer(length: 100, now: 0)
        #expect(line.pop(now: 5 * ms - 1) == nil)
        #expect(line.nextDeadline == 5 * ms)
        #expect(line.pop(now: 5 * ms) != nil)
        #expect(line.nextDeadline == nil)
    }

    @Test func jitterStaysInBoundsAndKeepsOrder() {
        var line = DelayLine(config: .init(delayNanos: 20 * ms, jitterNanos: 2 * ms, seed: 7), capacity: 4096)
        let out = drive(&line, count: 5000, gap: 1 * ms)
        #expect(out.count == 5000)
        let delays = out.map { $0.got - $0.sent }
        #expect(delays.allSatisfy { $0 >= 18 * ms && $0 <= 22 * ms })
        #expect(Set(delays).count > 100, "jitter varies the delay")
        #expect(zip(out, out.dropFirst()).allSatisfy { $0.got <= $1.got }, "FIFO")
    }

    @Test func lossRateIsWithinBoundsForASeed() {
        for (seed, percent) in [(UInt64(1), 1), (2, 1), (3, 5), (4, 20)] {
            var line = DelayLine(config: .init(lossPPM: percent * 10_000, seed: seed), capacity: 16)
            let n = 100_000
            let out = drive(&line, count: n, gap: 1000)
            let lost = Double(line.counters.lost) / Double(n) * 100
            #expect(
                abs(lost - Double(percent)) < Double(percent) * 0.1 + 0.05, "seed \(seed): \(lost) % for \(percent) %")
            #expect(out.count + line.counters.lost == n)
        }
    }

    @Test func sameSeedSameLosses() {
        var a = DelayLine(config: .init(lossPPM: 50_000, seed: 42), capacity: 16)
        var b = DelayLine(config: .init(lossPPM: 50_000, seed: 42), capacity: 16)
        var c = DelayLine(config: .init(lossPPM: 50_000, seed: 43), capacity: 16)
        var same = true
        var differs = false
        for i in 0..<2000 {
            let t = Int64(i) * 1000
            let va = a.offer(length: 100, now: t)
            let vb = b.offer(length: 100, now: t)
            let vc = c.offer(length: 100, now: t)
            same = same && (va == .lost) == (vb == .lost)
            differs = differs || (va == .lost) != (vc == .lost)
            _ = a.pop(now: t)
            _ = b.pop(now: t)
            _ = c.pop(now: t)
        }
        #expect(same && differs)
    }

    @Test func rateLimitIsRespected() {
        // 10 Mbit/s, offered at 40 Mbit/s for 1 s: about 10 Mbit leave per second, no faster.
        let rate: Int64 = 10_000_000
        var line = DelayLine(
            config: .init(delayNanos: 10 * ms, rateBitsPerSecond: rate, burstBytes: 3000, queueLimit: 100_000),
            capacity: 1 << 15)
        let gap: Int64 = 300_000  // 1500 B every 0.3 ms = 40 Mbit/s
        let out = drive(&line, count: 3334, gap: gap)
        #expect(out.count == 3334)
        // Any window of the output carries at most rate x window + the bucket depth.
        let bits = 1500 * 8
        for i in stride(from: 0, to: out.count - 200, by: 50) {
            let span = out[i + 199].got - out[i].got
            let allowed = Double(rate) * Double(span) / 1e9 + 3000 * 8 + Double(bits)
            #expect(Double(200 * bits) <= allowed, "window at \(i): \(200 * bits) bits in \(span) ns")
        }
        let total = out.last!.got - out.first!.got
        let achieved = Double(out.count * bits) / (Double(total) / 1e9)
        #expect(achieved > Double(rate) * 0.98 && achieved < Double(rate) * 1.02, "\(achieved) bit/s")
        #expect(out.first!.got - out.first!.sent == 10 * ms, "an idle link sends the first frame at once")
    }

    @Test func rateAtLowLoadAddsOnlySerialization() {
        var line = DelayLine(config: .init(delayNanos: 1 * ms, rateBitsPerSecond: 100_000_000), capacity: 64)
        let out = drive(&line, count: 100, gap: 10 * ms)  // far below the rate: the bucket is full each time
        #expect(out.allSatisfy { $0.got - $0.sent == 1 * ms })
    }

    @Test func queueLimitDropsTheExcess() {
        // 1500 B frames at 12 Mbit/s take 1 ms each; 100 offered at once with a limit of 10.
        var line = DelayLine(
            config: .init(rateBitsPerSecond: 12_000_000, burstBytes: 1500, queueLimit: 10), capacity: 256)
        var verdicts = [DelayLine.Verdict]()
        for _ in 0..<100 { verdicts.append(line.offer(length: 1500, now: 0)) }
        let queued = verdicts.filter { if case .queued = $0 { return true } else { return false } }.count
        // The first leaves at once (bucket full), 10 wait behind it.
        #expect(queued == 11)
        #expect(line.counters.queueDrops == 89)
        #expect(line.backlog(now: 0) == 10)
        // After 5 ms, 5 have left the limiter: 5 more fit.
        #expect(line.backlog(now: 5 * ms) == 5)
        for _ in 0..<10 { _ = line.offer(length: 1500, now: 5 * ms) }
        #expect(line.counters.queueDrops == 94)
    }

    @Test func fullRingOverflowsInsteadOfOverwriting() {
        var line = DelayLine(config: .init(delayNanos: 100 * ms), capacity: 4)
        for i in 0..<4 { #expect(line.offer(length: 10, now: Int64(i)) == .queued(slot: i)) }
        #expect(line.nextSlot == nil)
        #expect(line.offer(length: 10, now: 5) == .overflow)
        #expect(line.pop(now: 100 * ms) == 0)
        #expect(line.nextSlot == 0)
        #expect(line.offer(length: 10, now: 100 * ms) == .queued(slot: 0))
        #expect(line.counters.overflows == 1)
    }

    @Test func unitsParse() throws {
        #expect(try LineUnits.duration("20ms") == 20 * ms)
        #expect(try LineUnits.duration("1.5ms") == 1_500_000)
        #expect(try LineUnits.duration("250us") == 250_000)
        #expect(try LineUnits.duration("0") == 0)
        #expect(try LineUnits.rate("50mbit") == 50_000_000)
        #expect(try LineUnits.rate("1gbit") == 1_000_000_000)
        #expect(try LineUnits.lossPPM("1%") == 10_000)
        #expect(try LineUnits.lossPPM("0.5") == 5_000)
        #expect(try LineUnits.count("16k") == 16_384)
        let pair = try LineUnits.pair("20ms/5ms", LineUnits.duration)
        #expect(pair.0 == 20 * ms && pair.1 == 5 * ms)
        #expect(throws: LineUnits.Invalid.self) { try LineUnits.duration("20") }
        #expect(throws: LineUnits.Invalid.self) { try LineUnits.duration("-1ms") }
        #expect(throws: LineUnits.Invalid.self) { try LineUnits.rate("fast") }
        #expect(throws: LineUnits.Invalid.self) { try LineUnits.lossPPM("101%") }
        #expect(throws: LineUnits.Invalid.self) { try LineUnits.pair("1ms/2ms/3ms", LineUnits.duration) }
    }
}
