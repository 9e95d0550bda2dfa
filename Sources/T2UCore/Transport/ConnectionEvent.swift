// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore

/// What a connection tells its owner; drained with `Connection.pollEvent()`.
package enum ConnectionEvent: Equatable, Sendable {
    case handshakeCompleted
    case streamOpened(StreamID)
    /// New data or FIN can be read from the stream.
    case streamReadable(StreamID)
    /// The stream accepts more bytes from `write` (send buffer drained / credit arrived).
    case streamWritable(StreamID)
    /// The peer aborted the stream; reads and writes now fail.
    case streamReset(StreamID, errorCode: UInt64)
    /// Both directions finished and acknowledged; the stream's state is gone.
    case streamClosed(StreamID)
    /// Packets now flow on another address (validated NAT rebinding or path switch).
    case pathChanged(NetAddress)
    /// A `probePath` probe was answered: the peer is reachable at this address (the source of
    /// the authenticated PATH_RESPONSE). Reported once per address per probe.
    case pathValidated(NetAddress)
    /// A `probePath` probe got no answer after all its attempts (or was dropped to bound them).
    case pathProbeFailed(NetAddress)
    case closed(ConnectionCloseReason)
}

package enum ConnectionCloseReason: Equatable, Sendable, CustomStringConvertible {
    /// We called `close`.
    case local(errorCode: UInt64)
    case peer(errorCode: UInt64, reason: String)
    case idleTimeout
    /// Nothing came back from the peer for `deadPeerTimeout` while we waited for answers.
    case peerUnreachable
    case handshakeTimeout
    /// The device refused our password, or answered without proving it (port status -5).
    case passwordRejected
    /// The peer could not prove the pinned static key, or protocol rules were broken.
    case handshakeFailed(String)
    case protocolViolation(String)

    package var description: String {
        switch self {
        case .local(let code): return "closed locally (code \(code))"
        case .peer(let code, let reason): return "closed by peer (code \(code)\(reason.isEmpty ? "" : ": \(reason)"))"
        case .idleTimeout: return "idle timeout: no packet from the peer"
        case .peerUnreachable: return "peer unreachable: nothing answered our packets on any path"
        case .handshakeTimeout: return "handshake timed out: the peer did not answer"
        case .passwordRejected: return "the device rejected the password or did not prove it"
        case .handshakeFailed(let why): return "handshake failed: \(why)"
        case .protocolViolation(let why): return "protocol violation: \(why)"
        }
    }
}

/// Result of reading a stream.
package enum StreamRead: Equatable, Sendable {
    case data(ByteBuffer)
    /// The peer finished sending (TCP half-close) and all data was read.
    case fin
    /// Nothing buffered now; a `streamReadable` event follows when there is.
    case wouldBlock
}
