// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// What a `SignalingClient` reports to its owner (device agent or client SDK).
package enum SignalingClientEvent: Equatable, Sendable {
    case statusChanged(SignalingClient.Status)
    /// The server's view of our address changed (registration, keepalive ack).
    case observedAddress(NetAddress)
    case queryResult(requestID: UInt32, SignalingMessage.QueryResult)
    case connectResult(requestID: UInt32, SignalingMessage.ConnectResult)
    /// The CONNECT was written for the first time: the server will know its session before
    /// anything sent after it, so a handshake initiation may follow it through the relay.
    case connectSent(requestID: UInt32)
    /// The address the server's second port saw; compare with `observedAddress` to learn whether
    /// the NAT mapping is endpoint-independent.
    case probeResult(requestID: UInt32, observed: NetAddress)
    /// Our NAT behaviour, measured after a registration (only when it differs from before).
    case natBehavior(NATBehavior)
    case requestFailed(requestID: UInt32, SignalingRequestFailure)
    /// Device: a client asked for a session (reported once per session ID).
    case introduced(SignalingMessage.Introduce)
    /// The server has no relay session for `connectionID` (it restarted): a client resumes the
    /// connection whose device side has that ID. Our registration is being checked meanwhile.
    case relayUnknown(ConnectionID)
    /// No `serverPublicKey` was configured: we registered with the key the server stated, which
    /// an active attacker could have replaced. Reported once per client; log how to pin it.
    case unauthenticatedServer(publicKey: [UInt8])
    /// The server refused our registration (`identityConflict`, `notEnrolled`, `capacity`);
    /// we keep retrying slowly and are not registered.
    case registrationRefused(SignalingErrorCode)
    /// The server has not answered our registration (wrong address or port, UDP blocked, server
    /// down): after `failoverAfterSends` tries, then at twice as many each time.
    case serverSilent(ServerSilence)
}

package enum SignalingRequestFailure: Error, Equatable, Sendable {
    case timeout
    case server(SignalingErrorCode)
}
