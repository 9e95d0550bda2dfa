// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Testing

@testable import T2UCore

@Suite struct ReplayWindowTests {
    @Test func windowIsLargeEnoughForReorderingLinks() {
        #expect(ReplayWindow.size >= 4096)
    }

    @Test func duplicatesAreRejected() {
        var window = ReplayWindow()
        #expect(window.isFresh(0))
        window.mark(0)
        #expect(!window.isFresh(0))
        window.mark(5)
        #expect(window.isFresh(3), "reordered, not yet seen")
        window.mark(3)
        #expect(!window.isFresh(3))
        #expect(!window.isFresh(5))
        #expect(window.isFresh(4))
        #expect(window.isFresh(6))
    }

    @Test func tooOldIsRejected() {
        var window = ReplayWindow()
        window.mark(10_000)
        #expect(window.isFresh(10_000 - ReplayWindow.size + 1))
        #expect(!window.isFresh(10_000 - ReplayWindow.size))
        #expect(!window.isFresh(0))
        window.mark(0)  // ignored, too old
        #expect(!window.isFresh(0))
    }

    @Test func farAheadJumpForgetsTheOldWindow() {
        var window = ReplayWindow()
        for pn in 0..<100 as Range<UInt64> { window.mark(pn) }
        let far: UInt64 = 1_000_000
        window.mark(far)
        #expect(!window.isFresh(far))
        #expect(!window.isFresh(99), "older than the window now")
        // Slots reused by the ring must not report numbers of the old window as seen.
        #expect(window.isFresh(far - 1))
        #expect(window.isFresh(far - ReplayWindow.size + 1))
        for offset: UInt64 in [1, 63, 64, 65, 4095, ReplayWindow.size - 1] { #expect(window.isFresh(far - offset)) }
        #expect(window.isFresh(far + 1))
    }

    @Test func jumpWithinWindowClearsReusedSlots() {
        var window = ReplayWindow()
        for pn in 0..<ReplayWindow.size { window.mark(pn) }
        let jump = ReplayWindow.size + 3000
        window.mark(jump)
        for pn in (ReplayWindow.size)..<jump { #expect(window.isFresh(pn), "pn \(pn)") }
        for pn in (jump - ReplayWindow.size + 1)..<ReplayWindow.size { #expect(!window.isFresh(pn), "pn \(pn)") }
    }

    @Test func largestPacketNumbers() {
        var window = ReplayWindow()
        window.mark(.max - 1)
        #expect(window.isFresh(.max))
        window.mark(.max)
        #expect(!window.isFresh(.max))
        #expect(!window.isFresh(.max - 1))
        #expect(window.isFresh(.max - 2))
    }

    @Test(arguments: [1, 2, 3, 4] as [UInt64])
    func matchesASetModel(seed: UInt64) {
        let entropy = SeededEntropy(seed: seed)
        var window = ReplayWindow()
        var seen = Set<UInt64>()
        var highest: UInt64? = nil
        var base: UInt64 = 0
        for step in 0..<20_000 {
            // Mostly increasing with heavy reordering, duplicates and the odd jump.
            let roll = entropy.next(below: 100)
            if roll < 2 { base += entropy.next(below: 3 * ReplayWindow.size) }
            base += 1
            let pn = base > 6000 ? base - entropy.next(below: 6000) : base
            let expectedFresh = !seen.contains(pn) && (highest.map { pn > $0 || $0 - pn < ReplayWindow.size } ?? true)
            #expect(window.isFresh(pn) == expectedFresh, "seed \(seed) step \(step) pn \(pn)")
            if expectedFresh {
                window.mark(pn)
                seen.insert(pn)
                highest = max(highest ?? pn, pn)
            }
        }
    }
}
