// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// What a path to the device is, in the order a link prefers them.
package enum PathKind: Int, Comparable, Sendable, CustomStringConvertible {
    /// Through the server's relay.
    case relay = 0
    /// Straight to the device's public side (its router's mapping, a predicted or birthday port).
    case direct = 1
    /// On a LAN shared with the device (or loopback): no router in between.
    case lan = 2

    package static func < (a: PathKind, b: PathKind) -> Bool { a.rawValue < b.rawValue }

    package var description: String {
        switch self {
        case .relay: "relay"
        case .direct: "direct"
        case .lan: "lan"
        }
    }
}
