// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// Sliding-window duplicate detection for received packet numbers: a ring bitmap of the last
/// `size` numbers up to the highest one marked. Numbers older than the window are rejected.
package struct ReplayWindow: Sendable {
    /// High-rate links reorder a lot: at 200k packets/s this spans ~40 ms of reordering.
    package static let size: UInt64 = 8192

    private static let wordCount = Int(size / 64)
    private var bits: [UInt64]
    private var highest: UInt64 = 0
    private var hasMarked = false

    package init() {
        bits = [UInt64](repeating: 0, count: Self.wordCount)
    }

    /// Not seen and not too old.
    package func isFresh(_ pn: UInt64) -> Bool {
        guard hasMarked, pn <= highest else { return true }
        guard highest - pn < Self.size else { return false }
        return !isSet(pn)
    }

    /// Call only after authentication succeeded.
    package mutating func mark(_ pn: UInt64) {
        if !hasMarked {
            hasMarked = true
            highest = pn
        } else if pn > highest {
            slide(to: pn)
        } else if highest - pn >= Self.size {
            return
        }
        bits[Self.word(pn)] |= Self.mask(pn)
    }

    /// Forgets the numbers that slide out of the window, whose slots the new ones reuse.
    private mutating func slide(to pn: UInt64) {
        let advance = pn - highest
        if advance >= Self.size {
            for i in bits.indices { bits[i] = 0 }
        } else {
            var n = highest
            var remaining = advance
            while remaining > 0 {
                n &+= 1
                if n % 64 == 0 && remaining >= 64 {
                    bits[Self.word(n)] = 0  // whole word at once
                    n &+= 63
                    remaining -= 64
                } else {
                    clear(n)
                    remaining -= 1
                }
            }
        }
        highest = pn
    }

    private static func word(_ pn: UInt64) -> Int { Int((pn % size) / 64) }
    private static func mask(_ pn: UInt64) -> UInt64 { 1 << (pn % 64) }
    private func isSet(_ pn: UInt64) -> Bool { bits[Self.word(pn)] & Self.mask(pn) != 0 }
    private mutating func clear(_ pn: UInt64) { bits[Self.word(pn)] &= ~Self.mask(pn) }
}
