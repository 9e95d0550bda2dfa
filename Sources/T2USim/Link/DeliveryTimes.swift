// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import T2UCore

/// When the copies of one datagram leave a link: none (lost), one, or two (duplicated).
/// An inline value, so the per-packet path allocates nothing.
public struct DeliveryTimes: RandomAccessCollection, Sendable, Equatable {
    public private(set) var count: Int
    private var first0: Instant
    private var second: Instant

    public init() {
        count = 0
        first0 = .zero
        second = .zero
    }

    public init(_ time: Instant) {
        count = 1
        first0 = time
        second = .zero
    }

    public init(_ time: Instant, _ duplicate: Instant) {
        count = 2
        first0 = time
        second = duplicate
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { count }

    public subscript(position: Int) -> Instant {
        precondition(position >= 0 && position < count, "DeliveryTimes index out of range")
        return position == 0 ? first0 : second
    }

    public static func == (lhs: DeliveryTimes, rhs: DeliveryTimes) -> Bool {
        lhs.elementsEqual(rhs)
    }
}
