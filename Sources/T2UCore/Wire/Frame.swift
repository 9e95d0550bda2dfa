// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore

/// A frame inside a protected packet. Stream data is a slice of the decrypted packet buffer
/// (no copy) on receive.
package enum Frame: Equatable, Sendable {
    /// `length` zero bytes (type 0x00 each). Pads handshake packets and path probes.
    case padding(length: Int)
    case ping
    case ack(AckFrame)
    case stream(StreamFrame)
    /// Aborts the stream in both directions (TCP RST on the far side). `finalSize` is the number
    /// of bytes the sender had sent on it.
    case resetStream(id: StreamID, errorCode: UInt64, finalSize: UInt64)
    /// Connection-level flow-control credit: total stream bytes the sender of this frame accepts.
    case maxData(UInt64)
    case maxStreamData(id: StreamID, maximum: UInt64)
    /// Highest count of streams the peer may open (cumulative).
    case maxStreams(UInt64)
    case dataBlocked(limit: UInt64)
    case streamDataBlocked(id: StreamID, limit: UInt64)
    case pathChallenge(UInt64)
    case pathResponse(UInt64)
    /// Ends the connection; `reason` is UTF-8, at most 255 bytes on the wire.
    case close(errorCode: UInt64, reason: String)
    /// A fresh X25519 public key for the next key phase (request from the connection's
    /// initiator, response from the responder); see `Connection+KeyUpdate.swift`.
    case keyUpdate(KeyUpdateFrame)
}

/// KEY_UPDATE (0x1e request, 0x1f response): sequence (varint) | X25519 public key (32).
package struct KeyUpdateFrame: Equatable, Sendable {
    package static let publicKeyLength = 32
    package var isResponse: Bool
    /// The request's sequence number (1, 2, ...), echoed by its response.
    package var sequence: UInt64
    package var publicKey: [UInt8]

    package init(isResponse: Bool, sequence: UInt64, publicKey: [UInt8]) {
        precondition(publicKey.count == Self.publicKeyLength, "KEY_UPDATE key must be 32 bytes")
        self.isResponse = isResponse
        self.sequence = sequence
        self.publicKey = publicKey
    }
}

/// Acknowledged packet numbers, highest first. `ranges[0]` contains `largest`; ranges are
/// disjoint, descending, and separated by at least one missing packet number.
package struct AckFrame: Equatable, Sendable {
    package var ackDelayMicros: UInt64
    package var ranges: [ClosedRange<PacketNumber>]

    package init(ackDelayMicros: UInt64, ranges: [ClosedRange<PacketNumber>]) {
        self.ackDelayMicros = ackDelayMicros
        self.ranges = ranges
    }

    package var largest: PacketNumber { ranges[0].upperBound }
}

package struct StreamFrame: Equatable, Sendable {
    package var id: StreamID
    package var offset: UInt64
    package var data: ByteBuffer
    package var fin: Bool

    package init(id: StreamID, offset: UInt64, data: ByteBuffer, fin: Bool) {
        self.id = id
        self.offset = offset
        self.data = data
        self.fin = fin
    }
}

/// Error codes carried by CLOSE and RESET_STREAM.
package enum TransportErrorCode: UInt64, Sendable {
    case noError = 0x0
    case internalError = 0x1
    case flowControlError = 0x3
    case streamLimitError = 0x4
    case streamStateError = 0x5
    case finalSizeError = 0x6
    case frameEncodingError = 0x7
    case protocolViolation = 0xa
    case idleTimeout = 0x10
    case applicationClose = 0x100
}
