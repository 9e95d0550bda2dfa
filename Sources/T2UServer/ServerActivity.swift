// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import T2UCore

/// What an operator wants in the log at `info`: agents coming and going, relay sessions. The
/// core records it sans-IO (`ServerCore.pollActivity`); the runner writes it (`ActivityLog`).
package enum ServerActivity: Equatable, Sendable {
    /// A REGISTER accepted; `renewed`: the UUID was registered already (restart, new address).
    case registered(role: SignalingRole, uuid: String, address: NetAddress, renewed: Bool)
    /// No keepalive within the presence timeout.
    case expired(role: SignalingRole, uuid: String, address: NetAddress)
    /// The first packet of a session the relay forwards.
    case relayStarted(session: UInt64, client: String, device: String)
    /// A relayed session closed (idle); `bytes` it forwarded.
    case relayEnded(session: UInt64, client: String, device: String, bytes: UInt64)
}
