// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// What a sent packet carried that matters once it is acknowledged or declared lost.
/// Packets are never retransmitted as such: lost frames are re-queued and sent in new packets.
enum SentFrame: Sendable {
    case stream(StreamID, offset: UInt64, length: Int, fin: Bool)
    /// An empty STREAM frame that tells the peer a stream exists before any data (protocols
    /// where the server speaks first, e.g. SSH, need the far side to connect at once).
    case streamOpen(StreamID)
    case resetStream(StreamID, errorCode: UInt64, finalSize: UInt64)
    /// Flow-control updates: on loss the current (not the old) value is sent again.
    case maxData
    case maxStreamData(StreamID)
    case maxStreams
    /// We told the peer we wait for credit at `limit`: on loss it goes again while still true.
    case dataBlocked(limit: UInt64)
    case streamDataBlocked(StreamID, limit: UInt64)
    /// On acknowledgement the peer knows our ACK up to `largest`: the tracker forgets older ranges.
    case ack(largest: PacketNumber)
    case ping
    case close
    /// A KEY_UPDATE request or response: on loss it is sent again while still current.
    case keyUpdate(sequence: UInt64, isResponse: Bool)
}
