// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import T2UCore

/// Puts a `TransportEndpoint` (all connections of one UDP socket) on a `SimulatedNetwork`.
/// Application logic reacts in `onActivity`, which runs after every datagram and timeout the
/// endpoint handles: drain connection events, read and write streams there; the network then
/// polls the endpoint for what that produced.
package final class EndpointHost: SimulatedHost {
    package let address: NetAddress
    package let endpoint: TransportEndpoint
    /// Incoming connections accepted so far, in order.
    package private(set) var accepted: [Connection] = []
    package var onAccept: ((Connection) -> Void)?
    package var onActivity: ((EndpointHost, Instant) -> Void)?

    package init(address: NetAddress, endpoint: TransportEndpoint) {
        self.address = address
        self.endpoint = endpoint
    }

    package convenience init(address: NetAddress, options: TransportEndpoint.Options, entropy: EntropySource) {
        self.init(address: address, endpoint: TransportEndpoint(options: options, entropy: entropy))
    }

    /// Starts a connection as initiator (its first datagrams go out on the next network step).
    package func connect(
        to peer: NetAddress, remoteStaticKey: [UInt8], password: [UInt8]? = nil, now: Instant
    ) -> Connection {
        endpoint.connect(to: peer, remoteStaticKey: remoteStaticKey, password: password, now: now)
    }

    package func receive(_ datagram: ByteBuffer, from: NetAddress, now: Instant) {
        endpoint.receive(datagram, from: from, now: now)
        while let connection = endpoint.pollAccepted() {
            accepted.append(connection)
            onAccept?(connection)
        }
        onActivity?(self, now)
    }

    package func pollTransmit(now: Instant, into buffer: inout ByteBuffer) -> NetAddress? {
        endpoint.pollTransmit(now: now, into: &buffer)
    }

    package func nextDeadline() -> Instant? {
        endpoint.nextDeadline()
    }

    package func handleTimeout(now: Instant) {
        endpoint.handleTimeout(now: now)
        onActivity?(self, now)
    }
}
