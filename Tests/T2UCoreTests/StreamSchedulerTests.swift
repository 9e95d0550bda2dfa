// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Testing

@testable import T2UCore

@Suite struct StreamSchedulerTests {
    private let a = StreamID(rawValue: 0), b = StreamID(rawValue: 2), c = StreamID(rawValue: 4)

    @Test func popsInMarkOrderAndMarkingIsIdempotent() {
        var scheduler = StreamScheduler()
        #expect(scheduler.isEmpty)
        #expect(scheduler.next() == nil)
        scheduler.markSendable(b)
        scheduler.markSendable(a)
        scheduler.markSendable(b)
        #expect(scheduler.next() == b)
        #expect(scheduler.next() == a)
        #expect(scheduler.next() == nil)
        #expect(scheduler.isEmpty)
    }

    @Test func removeDropsAStreamAndItCanReturn() {
        var scheduler = StreamScheduler()
        scheduler.markSendable(a)
        scheduler.markSendable(b)
        scheduler.markSendable(c)
        scheduler.remove(b)
        scheduler.remove(b)
        scheduler.markSendable(b)
        #expect(scheduler.next() == a)
        #expect(scheduler.next() == c)
        #expect(scheduler.next() == b)
        #expect(scheduler.next() == nil)
    }

    /// Streams re-marked after each turn get equal turns; a stream marked later joins the
    /// rotation without starving anyone.
    @Test func roundRobinIsFair() {
        var scheduler = StreamScheduler()
        var remaining: [StreamID: Int] = [a: 100, b: 10, c: 97]
        var turns: [StreamID: Int] = [:]
        var order: [StreamID] = []
        for id in [a, b] { scheduler.markSendable(id) }
        var step = 0
        while let id = scheduler.next() {
            step += 1
            if step == 5 { scheduler.markSendable(c) }
            order.append(id)
            turns[id, default: 0] += 1
            remaining[id]! -= 1
            if remaining[id]! > 0 { scheduler.markSendable(id) }
        }
        #expect(turns == [a: 100, b: 10, c: 97])
        // While all three were active, each got one turn per round.
        let middle = order[6..<24]
        for window in stride(from: middle.startIndex, to: middle.endIndex - 2, by: 3) {
            #expect(Set(order[window..<(window + 3)]).count == 3, "order \(order.prefix(30))")
        }
        // After b finished, a and c alternate.
        let tail = order.suffix(100)
        #expect(zip(tail, tail.dropFirst()).allSatisfy { $0 != $1 })
    }
}
