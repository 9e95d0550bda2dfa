// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import T2UCore

/// Counters of one link direction. `delivered` counts copies handed to delivery (duplicates
/// included), so `delivered == sent - droppedRandom - droppedQueue + duplicated`.
public struct LinkStats: Sendable, Equatable, CustomStringConvertible {
    public var sent: UInt64 = 0
    public var delivered: UInt64 = 0
    public var droppedRandom: UInt64 = 0
    public var droppedQueue: UInt64 = 0
    public var duplicated: UInt64 = 0
    public var reordered: UInt64 = 0
    public var bytesSent: UInt64 = 0
    public var bytesDelivered: UInt64 = 0

    public init() {}

    public var description: String {
        "sent \(sent) (\(bytesSent) B), delivered \(delivered) (\(bytesDelivered) B), "
            + "lost \(droppedRandom), queue drops \(droppedQueue), "
            + "duplicated \(duplicated), reordered \(reordered)"
    }
}
