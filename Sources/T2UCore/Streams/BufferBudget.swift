// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// Memory that windows and send buffers may grow into above their initial sizes, shared by
/// the connections of one `TransportEndpoint` (one per process in t2u and t2usvr): the
/// per-process bound on buffering. A connection reserves when a send buffer or its receive
/// window grows and gives everything back when the stream or the connection goes, so the
/// total never exceeds `limit` however many connections there are.
package final class BufferBudget {
    package let limit: Int
    package private(set) var used = 0

    package init(limit: Int) {
        self.limit = Swift.max(0, limit)
    }

    /// Reserves up to `bytes` (what is left when less); returns the amount reserved.
    func reserve(upTo bytes: Int) -> Int {
        let granted = Swift.min(Swift.max(0, bytes), limit - used)
        used += granted
        return granted
    }

    func release(_ bytes: Int) {
        used = Swift.max(0, used - Swift.max(0, bytes))
    }
}
