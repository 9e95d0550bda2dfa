// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// Why a stream operation was refused (application side) or a peer's stream frame was illegal
/// (the latter closes the connection with the matching transport error code).
package enum StreamError: Error, Equatable, Sendable {
    case unknownStream(StreamID)
    /// `write` or `finish` after `finish`.
    case alreadyFinished(StreamID)
    /// The stream was reset (by either side) with this code.
    case reset(StreamID, errorCode: UInt64)
    /// The peer allows no more concurrent streams now.
    case streamLimitReached
    case connectionNotEstablished
    case connectionClosed
    /// Peer sent beyond the credit we advertised.
    case flowControlViolation(StreamID)
    /// Peer changed a stream's final size or sent data past it.
    case finalSizeViolation(StreamID)
}
