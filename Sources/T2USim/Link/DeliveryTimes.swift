// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import T2UCore

/// When the copies of one datagram leave a link: none (lost), one, or two (duplicated).
/// An inline value, so the per-packet path allocates nothing.
package struct DeliveryTimes: RandomAccessCollection, Sendable, Equatable {
    package private(set) var count: Int
    private var first0: Instant
    private var second: Instant

    package init() {
        count = 0
        first0 = .zero
        second = .zero
    }

    package init(_ time: Instant) {
        count = 1
        first0 = time
        second = .zero
    }

    package init(_ time: Instant, _ duplicate: Instant) {
        count = 2
        first0 = time
        second = duplicate
    }

    package var startIndex: Int { 0 }
    package var endIndex: Int { count }

    package subscript(position: Int) -> Instant {
        precondition(position >= 0 && position < count, "DeliveryTimes index out of range")
        return position == 0 ? first0 : second
    }

    package static func == (lhs: DeliveryTimes, rhs: DeliveryTimes) -> Bool {
        lhs.elementsEqual(rhs)
    }
}
