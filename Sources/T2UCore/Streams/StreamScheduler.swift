// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore

/// Fair round robin over streams with something to send, so one bulk transfer cannot starve the
/// others. The caller re-marks a stream popped by `next()` if it still has data after sending one
/// packet's worth, which moves it to the back of the queue.
package struct StreamScheduler: Sendable {
    private var queue = CircularBuffer<StreamID>(initialCapacity: 16)
    private var queued = Set<StreamID>()

    package init() {}

    package mutating func markSendable(_ id: StreamID) {
        guard queued.insert(id).inserted else { return }
        queue.append(id)
    }

    package mutating func next() -> StreamID? {
        guard let id = queue.popFirst() else { return nil }
        queued.remove(id)
        return id
    }

    package mutating func remove(_ id: StreamID) {
        guard queued.remove(id) != nil else { return }
        if let index = queue.firstIndex(of: id) { queue.remove(at: index) }
    }

    package var isEmpty: Bool { queue.isEmpty }

    package var count: Int { queue.count }
}
