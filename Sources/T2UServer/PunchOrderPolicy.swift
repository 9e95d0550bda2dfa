// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import T2UCore

/// The punch order of each new session between a client and a device (`PunchOrder`), from how
/// the pair's last sessions ended: every session the client reports relayed moves the next one
/// to the other order; a direct or LAN one starts again with both at once. A router that
/// clashes on one side is then met by the order it needs at the client's next look for a direct
/// path (`T2UClientOptions.relayedLinkRetry`, which outlasts the conntrack entries of the
/// failed attempt).
///
/// Bounded: at most `capacity` pairs; when full, all are forgotten (their next sessions start
/// again with both at once), so a client cannot grow it without bound.
struct PunchOrderPolicy {
    private struct Pair: Hashable {
        var client: String
        var device: String
    }

    let capacity: Int
    /// Consecutive relayed sessions of a pair (absent: none).
    private var relayedStreak: [Pair: Int] = [:]

    init(capacity: Int = 4096) {
        self.capacity = max(1, capacity)
    }

    func order(client: String, device: String) -> PunchOrder {
        PunchOrder.forAttempt(relayedStreak[Pair(client: client, device: device)] ?? 0)
    }

    /// The path a session of the pair ended on (the client's PATH_REPORT).
    mutating func record(client: String, device: String, path: SignalingPathKind) {
        let pair = Pair(client: client, device: device)
        switch path {
        case .relay:
            if relayedStreak[pair] == nil, relayedStreak.count >= capacity { relayedStreak.removeAll() }
            relayedStreak[pair, default: 0] += 1
        case .direct, .lan:
            relayedStreak[pair] = nil
        case .failed:
            break
        }
    }

    var pairs: Int { relayedStreak.count }
}
