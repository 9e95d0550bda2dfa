// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// A packet we sent and still track until it is acknowledged or declared lost.
package struct SentPacket<Payload> {
    package let packetNumber: PacketNumber
    package let timeSent: Instant
    package let size: Int
    package let ackEliciting: Bool
    /// Counts towards bytes in flight (false for ACK-only packets).
    package let inFlight: Bool
    /// What the connection must retransmit or mark delivered; opaque to recovery.
    package var payload: Payload

    // Delivery-rate snapshot at send time (draft-cheng-iccrg-delivery-rate-estimation).
    /// Connection's delivered byte count when this packet was sent.
    let delivered: Int
    /// When `delivered` was last advanced before this packet was sent.
    let deliveredTime: Instant
    /// Send time of the first packet of the flight this one belongs to.
    let firstSentTime: Instant
    /// The sender was application-limited when this packet was sent.
    let isAppLimited: Bool

    init(
        packetNumber: PacketNumber, timeSent: Instant, size: Int, ackEliciting: Bool, inFlight: Bool,
        payload: Payload, delivered: Int, deliveredTime: Instant, firstSentTime: Instant, isAppLimited: Bool
    ) {
        self.packetNumber = packetNumber
        self.timeSent = timeSent
        self.size = size
        self.ackEliciting = ackEliciting
        self.inFlight = inFlight
        self.payload = payload
        self.delivered = delivered
        self.deliveredTime = deliveredTime
        self.firstSentTime = firstSentTime
        self.isAppLimited = isAppLimited
    }
}

extension SentPacket: Sendable where Payload: Sendable {}

/// What one ACK frame changed.
package struct AckResult<Payload> {
    package var newlyAcked: [SentPacket<Payload>]
    package var lost: [SentPacket<Payload>]
    /// The ACK produced a new RTT sample.
    package var rttUpdated: Bool

    package init(newlyAcked: [SentPacket<Payload>] = [], lost: [SentPacket<Payload>] = [], rttUpdated: Bool = false) {
        self.newlyAcked = newlyAcked
        self.lost = lost
        self.rttUpdated = rttUpdated
    }
}

package enum RecoveryError: Error, Equatable, Sendable {
    /// The peer acknowledged a packet number we never sent (protocol violation, or an
    /// optimistic-ACK attack).
    case ackOfUnsentPacket(PacketNumber)
}

package struct RecoveryConfig: Sendable {
    package var maxDatagramSize: Int
    package var initialRtt: Nanos
    package var maxAckDelay: Nanos
    package var congestionControl: CongestionControlKind
    /// A controller of the caller's own, in place of `congestionControl`'s.
    package var congestionControllerFactory: CongestionControllerFactory?
    package var pacing: Bool

    package init(
        maxDatagramSize: Int, initialRtt: Nanos, maxAckDelay: Nanos, congestionControl: CongestionControlKind,
        pacing: Bool
    ) {
        self.maxDatagramSize = maxDatagramSize
        self.initialRtt = initialRtt
        self.maxAckDelay = maxAckDelay
        self.congestionControl = congestionControl
        self.pacing = pacing
    }
}
