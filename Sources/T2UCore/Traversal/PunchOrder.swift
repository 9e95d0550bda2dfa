// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// Which side of a session sends first toward the other's public address.
///
/// Some routers clash: Linux boxes that accept unsolicited inbound UDP locally (many OpenWrt
/// images) keep a conntrack entry for a peer's datagram that arrives before their inside host
/// has sent to that peer. The host's own datagrams to the peer then clash with that entry and
/// leave from another public port, which the peer's filter drops. Behind such a router a path
/// only opens when its side sends first. Nobody outside can see which router clashes, so the
/// server changes the order on each session of a pair whose last ones stayed relayed
/// (`PunchOrderPolicy`): both at once, then the client first, then the device first, ... The
/// waiting side starts `wait` later, so the first side's first datagram has left its router
/// before the other's arrives there (`wait` must exceed the difference of the two sides' delays
/// from the server, less the one-way delay between them). With birthday probing it also lets
/// the first side's spray (2048 ports at 1000/s) mostly go out before the other's auxiliary
/// mappings exist: only ports sprayed before then can meet a clashing router.
package enum PunchOrder: Sendable, Equatable, CustomStringConvertible {
    case together, clientFirst, deviceFirst

    /// How long the waiting side holds back.
    package static let defaultWait: Nanos = .milliseconds(1500)
    /// The most a server may ask a side to wait (a larger value on the wire is capped).
    package static let maxWait: Nanos = .seconds(2)

    /// The client's and the device's delays before their first datagram to the other side.
    package func delays(wait: Nanos = defaultWait) -> (client: Nanos, device: Nanos) {
        switch self {
        case .together: (.zero, .zero)
        case .clientFirst: (.zero, wait)
        case .deviceFirst: (wait, .zero)
        }
    }

    /// The order of the `attempt`-th consecutive session of a pair (0: its first, or the first
    /// after one that went direct).
    package static func forAttempt(_ attempt: Int) -> PunchOrder {
        guard attempt > 0 else { return .together }
        return attempt % 2 == 1 ? .clientFirst : .deviceFirst
    }

    package var description: String {
        switch self {
        case .together: "together"
        case .clientFirst: "client first"
        case .deviceFirst: "device first"
        }
    }
}

extension Nanos {
    /// A punch delay as carried on the wire (whole milliseconds, at most `PunchOrder.maxWait`).
    package var punchDelayMillis: UInt16 {
        UInt16(clamping: Swift.min(Swift.max(self, .zero), PunchOrder.maxWait).value / 1_000_000)
    }

    /// A punch delay from the wire, capped at `PunchOrder.maxWait` (the server is trusted, but a
    /// stray value must not stall a traversal).
    package static func punchDelay(millis: UInt16) -> Nanos {
        Swift.min(.milliseconds(Int64(millis)), PunchOrder.maxWait)
    }
}
