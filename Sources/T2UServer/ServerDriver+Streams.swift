// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import T2UCore

/// Counters of the TCP fallback listener.
package struct StreamCounters: Sendable, Equatable {
    package var opened: UInt64 = 0
    /// Connections closed at once: over `maxConnections`.
    package var refused: UInt64 = 0
    /// Streams closed for a bad upgrade head or frame.
    package var rejected: UInt64 = 0
    package var datagramsReceived: UInt64 = 0
    package var datagramsSent: UInt64 = 0
    /// Datagrams to a stream whose peer did not keep up (backpressure).
    package var datagramsDropped: UInt64 = 0
    /// Upgraded streams open now.
    package var open = 0
}

extension ServerDriver {
    func streamOpened(_ peer: StreamPeer, at address: NetAddress) {
        streamCounters.opened &+= 1
        // A new connection from the same address and port replaces the old one.
        if let old = streams.updateValue(peer, forKey: address), old !== peer { old.channel.close(promise: nil) }
        logger.debug("TCP fallback stream opened", metadata: ["peer": "\(address)"])
    }

    func closeStreams() {
        for peer in streams.values { peer.channel.close(promise: nil) }
        streams.removeAll()
    }

    func streamClosed(_ peer: StreamPeer, at address: NetAddress) {
        if streams[address] === peer { streams[address] = nil }
    }

    func streamRejected(from address: NetAddress, reason: String) {
        streamCounters.rejected &+= 1
        logger.debug("TCP fallback connection refused", metadata: ["peer": "\(address)", "reason": "\(reason)"])
    }

    /// A datagram from a stream: to the core exactly as if it had come over UDP on the main port.
    func receivedFromStream(_ datagram: ByteBuffer, from address: NetAddress) {
        streamCounters.datagramsReceived &+= 1
        received(datagram, from: address, on: .main)
    }

    /// Takes a datagram for `destination` if a stream serves that address. Only main-socket
    /// traffic goes down a stream: an observation-port answer over it would fake the NAT test.
    func sendOnStream(
        _ datagram: ByteBuffer, to destination: NetAddress, socket: ServerSocket,
        written: inout [ObjectIdentifier: StreamPeer]
    ) -> Bool {
        guard let peer = streams[destination] else { return false }
        if socket == .main, peer.send(datagram) {
            streamCounters.datagramsSent &+= 1
            written[ObjectIdentifier(peer)] = peer
        } else {
            streamCounters.datagramsDropped &+= 1
        }
        return true
    }
}
