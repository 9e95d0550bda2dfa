// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import T2UCore

/// A CONNECT that reached one server (A) for a device homed on another (B), passed from A to B
/// through the shared registry's message channel. B introduces its device (it holds the NAT
/// binding) and relays the session's packets between the device and A; A relays between B and
/// the client, so the client only ever talks to its own server.
package struct PeerIntroduction: Sendable, Equatable {
    /// The device's home server (B), which should act on it.
    package var targetServerID: String
    /// The server the client asked (A).
    package var originServerID: String
    package var sessionID: UInt64
    package var deviceUUID: String
    package var clientUUID: String
    package var clientConnectionID: UInt64
    /// The client's reflexive address as A saw it (the device punches towards it).
    package var clientPublicAddress: NetAddress
    package var clientCandidates: [NetAddress]
    /// A's advertised main address: where B sends the client's side of relayed packets.
    package var relayVia: NetAddress
    package var relayAllowed: Bool

    package init(
        targetServerID: String, originServerID: String, sessionID: UInt64, deviceUUID: String, clientUUID: String,
        clientConnectionID: UInt64, clientPublicAddress: NetAddress, clientCandidates: [NetAddress],
        relayVia: NetAddress, relayAllowed: Bool
    ) {
        self.targetServerID = targetServerID
        self.originServerID = originServerID
        self.sessionID = sessionID
        self.deviceUUID = deviceUUID
        self.clientUUID = clientUUID
        self.clientConnectionID = clientConnectionID
        self.clientPublicAddress = clientPublicAddress
        self.clientCandidates = clientCandidates
        self.relayVia = relayVia
        self.relayAllowed = relayAllowed
    }
}
