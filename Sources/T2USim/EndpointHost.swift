// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import T2UCore

/// Puts a `TransportEndpoint` (all connections of one UDP socket) on a `SimulatedNetwork`.
/// Application logic reacts in `onActivity`, which runs after every datagram and timeout the
/// endpoint handles: drain connection events, read and write streams there; the network then
/// polls the endpoint for what that produced.
public final class EndpointHost: SimulatedHost {
    public let address: NetAddress
    public let endpoint: TransportEndpoint
    /// Incoming connections accepted so far, in order.
    public private(set) var accepted: [Connection] = []
    public var onAccept: ((Connection) -> Void)?
    public var onActivity: ((EndpointHost, Instant) -> Void)?

    public init(address: NetAddress, endpoint: TransportEndpoint) {
        self.address = address
        self.endpoint = endpoint
    }

    public convenience init(address: NetAddress, options: TransportEndpoint.Options, entropy: EntropySource) {
        self.init(address: address, endpoint: TransportEndpoint(options: options, entropy: entropy))
    }

    /// Starts a connection as initiator (its first datagrams go out on the next network step).
    public func connect(
        to peer: NetAddress, remoteStaticKey: [UInt8], password: [UInt8]? = nil, now: Instant
    ) -> Connection {
        endpoint.connect(to: peer, remoteStaticKey: remoteStaticKey, password: password, now: now)
    }

    public func receive(_ datagram: ByteBuffer, from: NetAddress, now: Instant) {
        endpoint.receive(datagram, from: from, now: now)
        while let connection = endpoint.pollAccepted() {
            accepted.append(connection)
            onAccept?(connection)
        }
        onActivity?(self, now)
    }

    public func pollTransmit(now: Instant, into buffer: inout ByteBuffer) -> NetAddress? {
        endpoint.pollTransmit(now: now, into: &buffer)
    }

    public func nextDeadline() -> Instant? {
        endpoint.nextDeadline()
    }

    public func handleTimeout(now: Instant) {
        endpoint.handleTimeout(now: now)
        onActivity?(self, now)
    }
}
