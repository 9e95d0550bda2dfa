// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// Which side of a session a planner runs on. The client controls: it validates paths (its
/// probes are authenticated by the session's connection); the device only opens its NAT.
package enum TraversalRole: Sendable {
    case client
    case device
}

/// The ways a direct path can be found, in the order they are tried.
package enum TraversalStrategy: UInt8, Hashable, Sendable, CustomStringConvertible {
    /// LAN candidates, then the reflexive address.
    case candidates
    /// Ports a sequential endpoint-dependent NAT will allocate next.
    case prediction
    /// Many mappings on the random endpoint-dependent side, many probes from the other.
    case birthday
    /// No direct path can be expected (both sides endpoint-dependent without a pattern).
    case relayOnly

    package var description: String {
        switch self {
        case .candidates: return "candidates"
        case .prediction: return "port prediction"
        case .birthday: return "birthday probing"
        case .relayOnly: return "relay only"
        }
    }
}

/// One step of a plan, due at the time `TraversalPlanner.nextDeadline()` named.
package enum TraversalAction: Equatable, Sendable {
    /// Client: an authenticated probe (PATH_CHALLENGE) through the session's connection, from
    /// the main socket, with `attempts` challenges (1 for spray probes).
    case probe(NetAddress, attempts: Int)
    /// An unauthenticated opener datagram (`TraversalPunch`) from socket 0 (main) or auxiliary
    /// socket `socket` (1...n, in the order `openSockets` created them).
    case punch(NetAddress, socket: Int)
    /// Opens `count` auxiliary UDP sockets (numbered 1...count for later punches).
    case openSockets(Int)
}

/// What the planner knows about the other side of the session.
package struct TraversalPeer: Equatable, Sendable {
    package var nat: NATBehavior
    /// Its address as the server saw it (nil when unknown).
    package var reflexive: NetAddress?
    /// Its LAN candidates.
    package var candidates: [NetAddress]

    package init(nat: NATBehavior, reflexive: NetAddress?, candidates: [NetAddress]) {
        self.nat = nat
        self.reflexive = reflexive
        self.candidates = candidates
    }
}
