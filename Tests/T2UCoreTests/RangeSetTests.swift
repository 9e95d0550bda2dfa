// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Testing

@testable import T2UCore

@Suite struct RangeSetTests {
    @Test func insertMergesOverlappingAndTouchingRanges() {
        var set = RangeSet()
        set.insert(10..<20)
        set.insert(30..<40)
        #expect(set.ranges == [10..<20, 30..<40])
        set.insert(20..<25)  // touches the first
        #expect(set.ranges == [10..<25, 30..<40])
        set.insert(0..<5)
        set.insert(24..<31)  // bridges two
        #expect(set.ranges == [0..<5, 10..<40])
        set.insert(0..<100)
        #expect(set.ranges == [0..<100])
        set.insert(50..<50)  // empty is a no-op
        #expect(set.ranges == [0..<100])
    }

    @Test func removeSplitsAndTrims() {
        var set = RangeSet()
        set.insert(0..<100)
        set.remove(10..<20)
        #expect(set.ranges == [0..<10, 20..<100])
        set.remove(5..<25)
        #expect(set.ranges == [0..<5, 25..<100])
        set.remove(100..<200)
        #expect(set.ranges == [0..<5, 25..<100])
        set.remove(0..<1000)
        #expect(set.isEmpty)
        #expect(set.first == nil)
    }

    @Test func containsRespectsHalfOpenBounds() {
        var set = RangeSet()
        set.insert(10..<20)
        set.insert(30..<31)
        #expect(!set.contains(9))
        #expect(set.contains(10))
        #expect(set.contains(19))
        #expect(!set.contains(20))
        #expect(set.contains(30))
        #expect(!set.contains(31))
    }

    @Test func popFirstTakesFromTheLowestRange() {
        var set = RangeSet()
        set.insert(100..<110)
        set.insert(0..<10)
        #expect(set.popFirst(maxLength: 4) == 0..<4)
        #expect(set.popFirst(maxLength: 100) == 4..<10)
        #expect(set.popFirst(maxLength: 0) == nil)
        #expect(set.popFirst(maxLength: 10) == 100..<110)
        #expect(set.popFirst(maxLength: 10) == nil)
    }

    @Test func hugeRangesDoNotOverflow() {
        var set = RangeSet()
        set.insert(0..<UInt64.max)
        #expect(set.popFirst(maxLength: 8) == 0..<8)
        #expect(set.popFirst(maxLength: .max) == 8..<UInt64.max)
    }

    /// Random inserts and removes checked against a plain set of integers.
    @Test(arguments: [1 as UInt64, 2, 3, 42, 1234])
    func matchesModelUnderRandomOperations(seed: UInt64) {
        let rng = SeededEntropy(seed: seed)
        var set = RangeSet()
        var model = Set<UInt64>()
        for step in 0..<2_000 {
            let lower = rng.next(below: 200)
            let upper = lower + rng.next(below: 20)
            if rng.next(below: 3) == 0 {
                set.remove(lower..<upper)
                model.subtract(lower..<upper)
            } else {
                set.insert(lower..<upper)
                model.formUnion(lower..<upper)
            }
            let ranges = set.ranges
            let flattened = Set(ranges.flatMap { Array($0) })
            #expect(flattened == model, "seed \(seed) step \(step)")
            // Canonical form: sorted, non-empty, separated by gaps.
            for (a, b) in zip(ranges, ranges.dropFirst()) {
                #expect(a.upperBound < b.lowerBound, "seed \(seed) step \(step)")
            }
            #expect(ranges.allSatisfy { !$0.isEmpty }, "seed \(seed)")
            let probe = rng.next(below: 220)
            #expect(set.contains(probe) == model.contains(probe), "seed \(seed) step \(step)")
            // The gaps of a random range: exactly its values the set lacks, in order, disjoint.
            let query = probe..<(probe + rng.next(below: 40))
            var gaps: [Range<UInt64>] = []
            set.forEachGap(in: query) { gaps.append($0) }
            #expect(gaps.flatMap { Array($0) } == query.filter { !model.contains($0) }, "seed \(seed) step \(step)")
            #expect(gaps.allSatisfy { !$0.isEmpty }, "seed \(seed) step \(step)")
            if flattened != model { return }
        }
    }
}
