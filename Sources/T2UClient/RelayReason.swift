// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import T2UCore

/// Why a link is on the server's relay, in words (`PathInfo.relayReason`), from facts the
/// client already has: its options, both NATs as measured, the device's candidates and how
/// path discovery went. Pure, so tests feed it synthetic facts.
struct RelayFacts: Sendable, Equatable {
    enum Discovery: Sendable, Equatable {
        /// The link is up on the relay and discovery has not begun (or was not needed).
        case notStarted
        /// Probing and punching; `tried` addresses so far.
        case running(tried: Int)
        /// The discovery window closed without a direct path.
        case ended(tried: Int)
    }

    var directDisabled: Bool
    var localNAT: NATBehavior
    var peerNAT: NATBehavior
    /// Addresses of the device the server gave (reflexive + LAN + port-mapped).
    var peerCandidates: Int
    /// What worked with this device last time was the relay (direct is not retried for a while).
    var rememberedRelay: Bool
    var discovery: Discovery
    /// Set when every address discovery tried was refused by this host's kernel (a local
    /// firewall, no route): the errno's name.
    var allTriedRefused: String? = nil

    var reason: String {
        if directDisabled { return "direct disabled by option (relay only)" }
        if peerCandidates == 0 { return "peer has no candidates (the server gave no address of the device)" }
        if let errno = allTriedRefused {
            return
                "UDP to peer blocked: this host refused every send to the device's addresses (\(errno): a local firewall or no route)"
        }
        if TraversalPlanner.strategies(local: localNAT, peer: peerNAT).contains(.relayOnly) {
            return
                "both sides symmetric NAT (ours \(localNAT), the device's \(peerNAT)) and no port mapping: no direct path beyond the LAN"
        }
        if rememberedRelay {
            return "direct failed with this device a few minutes ago: relay remembered, direct retried later"
        }
        switch discovery {
        case .notStarted:
            return "direct path search not started yet"
        case .running(let tried):
            return "searching a direct path (\(tried) candidate\(tried == 1 ? "" : "s") tried so far)"
        case .ended(let tried):
            return
                "punching timed out after \(tried) candidate\(tried == 1 ? "" : "s") (ours \(localNAT), the device's \(peerNAT)): UDP between the peers is blocked or filtered"
        }
    }
}
