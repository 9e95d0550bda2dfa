// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import T2UCore

/// Counters of one link direction. `delivered` counts copies handed to delivery (duplicates
/// included), so `delivered == sent - droppedRandom - droppedQueue + duplicated`.
package struct LinkStats: Sendable, Equatable, CustomStringConvertible {
    package var sent: UInt64 = 0
    package var delivered: UInt64 = 0
    package var droppedRandom: UInt64 = 0
    package var droppedQueue: UInt64 = 0
    package var duplicated: UInt64 = 0
    package var reordered: UInt64 = 0
    package var bytesSent: UInt64 = 0
    package var bytesDelivered: UInt64 = 0

    package init() {}

    package var description: String {
        "sent \(sent) (\(bytesSent) B), delivered \(delivered) (\(bytesDelivered) B), "
            + "lost \(droppedRandom), queue drops \(droppedQueue), "
            + "duplicated \(duplicated), reordered \(reordered)"
    }
}
