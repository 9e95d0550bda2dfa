// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// When a relayed link looks for a direct path again: after `first` twice (the server has the
/// client send first, then the device: `PunchOrder`, so a router that clashes on either side
/// is met within two looks), then twice as long each time up to `maximum`. What kept it
/// relayed may be gone without a sign on our side: the device's UDP came back, a router was
/// replaced or granted a mapping.
package struct RelayedLinkRetry: Sendable {
    package let first: Nanos
    package let maximum: Nanos
    private var delay: Nanos
    private var looks = 0

    /// Looks at the first delay: both punch orders get their session.
    package static let looksBeforeBackoff = 2

    /// `first` zero: never look again.
    package init(first: Nanos, maximum: Nanos) {
        self.first = first
        self.maximum = max(maximum, first)
        self.delay = first
    }

    /// The wait before the next look, and whether that look runs every NAT strategy again
    /// (the looks in the other punch orders; later ones only the cheap candidates while the
    /// relay verdict is remembered). nil: looks are off.
    package mutating func next() -> (delay: Nanos, everyStrategy: Bool)? {
        guard first > .zero else { return nil }
        let wait = delay
        looks += 1
        if looks >= Self.looksBeforeBackoff { delay = min(delay * 2, maximum) }
        return (wait, looks <= Self.looksBeforeBackoff)
    }

    /// The link left the relay (or a new attempt began): the next look waits `first` again.
    package mutating func reset() {
        delay = first
        looks = 0
    }
}
