// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import T2UCore

/// A CONNECT that reached one server (A) for a device homed on another (B), passed from A to B
/// through the shared registry's message channel. B introduces its device (it holds the NAT
/// binding) and relays the session's packets between the device and A; A relays between B and
/// the client, so the client only ever talks to its own server.
public struct PeerIntroduction: Sendable, Equatable {
    /// The device's home server (B), which should act on it.
    public var targetServerID: String
    /// The server the client asked (A).
    public var originServerID: String
    public var sessionID: UInt64
    public var deviceUUID: String
    public var clientUUID: String
    public var clientConnectionID: UInt64
    /// The client's reflexive address as A saw it (the device punches towards it).
    public var clientPublicAddress: NetAddress
    public var clientCandidates: [NetAddress]
    /// A's advertised main address: where B sends the client's side of relayed packets.
    public var relayVia: NetAddress
    public var relayAllowed: Bool

    public init(
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
