// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// Disjoint, sorted, non-adjacent half-open ranges of stream offsets. Stream bookkeeping (acked
/// and lost ranges) usually holds a handful of ranges, so a sorted array with binary search beats
/// any tree: no per-node allocation and cache-friendly scans.
package struct RangeSet: Sendable, Equatable {
    // Invariant: sorted by lowerBound, non-empty ranges, and a gap between neighbours (touching
    // ranges are merged), so equal sets have equal arrays.
    private var storage: [Range<UInt64>] = []

    package init() {}

    package var ranges: [Range<UInt64>] { storage }
    package var isEmpty: Bool { storage.isEmpty }
    package var first: Range<UInt64>? { storage.first }

    /// Index of the first range whose upperBound >= value (the first range that could touch or
    /// follow `value`).
    private func firstIndex(upperBoundAtLeast value: UInt64) -> Int {
        var low = 0
        var high = storage.count
        while low < high {
            let mid = (low + high) / 2
            if storage[mid].upperBound < value { low = mid + 1 } else { high = mid }
        }
        return low
    }

    package mutating func insert(_ range: Range<UInt64>) {
        guard !range.isEmpty else { return }
        // Fast path: appending past the end (in-order acks).
        if let last = storage.last, last.upperBound < range.lowerBound {
            storage.append(range)
            return
        }
        let start = firstIndex(upperBoundAtLeast: range.lowerBound)
        var end = start
        var lower = range.lowerBound
        var upper = range.upperBound
        // Absorb every range that overlaps or touches [lower, upper].
        while end < storage.count, storage[end].lowerBound <= upper {
            lower = Swift.min(lower, storage[end].lowerBound)
            upper = Swift.max(upper, storage[end].upperBound)
            end += 1
        }
        if start == end {
            storage.insert(range, at: start)
        } else if end - start == 1 {
            storage[start] = lower..<upper
        } else {
            storage.replaceSubrange(start..<end, with: CollectionOfOne(lower..<upper))
        }
    }

    package mutating func remove(_ range: Range<UInt64>) {
        guard !range.isEmpty, !storage.isEmpty else { return }
        // First range that ends strictly after range.lowerBound.
        var index = firstIndex(upperBoundAtLeast: range.lowerBound)
        if index < storage.count, storage[index].upperBound == range.lowerBound { index += 1 }
        var end = index
        while end < storage.count, storage[end].lowerBound < range.upperBound { end += 1 }
        guard end > index else { return }
        // Only the first overlapped range can keep a left part, only the last a right part.
        let left = storage[index].lowerBound < range.lowerBound ? storage[index].lowerBound..<range.lowerBound : nil
        let right =
            storage[end - 1].upperBound > range.upperBound ? range.upperBound..<storage[end - 1].upperBound : nil
        switch (left, right) {
        case (let left?, let right?):
            storage[index] = left
            if end - index >= 2 {
                storage[index + 1] = right
                storage.removeSubrange((index + 2)..<end)
            } else {
                storage.insert(right, at: index + 1)
            }
        case (let left?, nil):
            storage[index] = left
            storage.removeSubrange((index + 1)..<end)
        case (nil, let right?):
            storage[end - 1] = right
            storage.removeSubrange(index..<(end - 1))
        case (nil, nil):
            storage.removeSubrange(index..<end)
        }
    }

    package func contains(_ value: UInt64) -> Bool {
        // First range with upperBound > value.
        var low = 0
        var high = storage.count
        while low < high {
            let mid = (low + high) / 2
            if storage[mid].upperBound <= value { low = mid + 1 } else { high = mid }
        }
        return low < storage.count && storage[low].lowerBound <= value
    }

    /// Calls `body` with each part of `range` the set does not cover, lowest first (no
    /// allocation: this runs for every out-of-order STREAM frame).
    package func forEachGap(in range: Range<UInt64>, _ body: (Range<UInt64>) -> Void) {
        guard !range.isEmpty else { return }
        var cursor = range.lowerBound
        var index = firstIndex(upperBoundAtLeast: range.lowerBound)
        while cursor < range.upperBound {
            guard index < storage.count, storage[index].lowerBound < range.upperBound else {
                body(cursor..<range.upperBound)
                return
            }
            let covered = storage[index]
            if covered.lowerBound > cursor { body(cursor..<covered.lowerBound) }
            cursor = Swift.max(cursor, covered.upperBound)
            index += 1
        }
    }

    /// Removes and returns up to `maxLength` values from the start of the lowest range.
    package mutating func popFirst(maxLength: UInt64) -> Range<UInt64>? {
        guard maxLength > 0, let lowest = storage.first else { return nil }
        if lowest.upperBound - lowest.lowerBound <= maxLength {
            storage.removeFirst()
            return lowest
        }
        let taken = lowest.lowerBound..<(lowest.lowerBound + maxLength)
        storage[0] = taken.upperBound..<lowest.upperBound
        return taken
    }
}
