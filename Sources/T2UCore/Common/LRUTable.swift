// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// A dictionary of at most `capacity` entries that evicts the least recently used one: per-source
/// and per-key state that a flood of new sources can never grow without bound, and that keeps
/// the sources seen recently (the live ones) rather than refusing newcomers.
package struct LRUTable<Key: Hashable, Value> {
    private typealias Node = LRUTableNode<Key, Value>

    package let capacity: Int
    private var nodes: [Node] = []
    private var slots: [Key: Int] = [:]
    /// Most and least recently used slots (-1: empty).
    private var newest = -1
    private var oldest = -1

    package init(capacity: Int) {
        precondition(capacity > 0, "an LRU table needs room for one entry")
        self.capacity = capacity
    }

    package var count: Int { slots.count }

    /// The value for `key`, marking it most recently used.
    package mutating func value(for key: Key) -> Value? {
        guard let slot = slots[key] else { return nil }
        touch(slot)
        return nodes[slot].value
    }

    /// Stores `value` as most recently used; returns the key evicted to make room, if any.
    @discardableResult
    package mutating func set(_ value: Value, for key: Key) -> Key? {
        if let slot = slots[key] {
            nodes[slot].value = value
            touch(slot)
            return nil
        }
        if nodes.count < capacity {
            nodes.append(Node(key: key, value: value, newer: -1, older: -1))
            let slot = nodes.count - 1
            slots[key] = slot
            linkAsNewest(slot)
            return nil
        }
        // Full: the oldest slot takes the new entry.
        let slot = oldest
        let evicted = nodes[slot].key
        slots[evicted] = nil
        unlink(slot)
        nodes[slot] = Node(key: key, value: value, newer: -1, older: -1)
        slots[key] = slot
        linkAsNewest(slot)
        return evicted
    }

    private mutating func touch(_ slot: Int) {
        guard slot != newest else { return }
        unlink(slot)
        linkAsNewest(slot)
    }

    private mutating func unlink(_ slot: Int) {
        let node = nodes[slot]
        if node.newer >= 0 { nodes[node.newer].older = node.older } else { newest = node.older }
        if node.older >= 0 { nodes[node.older].newer = node.newer } else { oldest = node.newer }
        nodes[slot].newer = -1
        nodes[slot].older = -1
    }

    private mutating func linkAsNewest(_ slot: Int) {
        nodes[slot].older = newest
        nodes[slot].newer = -1
        if newest >= 0 { nodes[newest].newer = slot }
        newest = slot
        if oldest < 0 { oldest = slot }
    }
}

/// An entry and its neighbours in recency order (slot indices, -1: none).
private struct LRUTableNode<Key, Value> {
    var key: Key
    var value: Value
    var newer: Int
    var older: Int
}

extension LRUTableNode: Sendable where Key: Sendable, Value: Sendable {}
extension LRUTable: Sendable where Key: Sendable, Value: Sendable {}
