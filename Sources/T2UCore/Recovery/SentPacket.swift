// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// A packet we sent and still track until it is acknowledged or declared lost.
public struct SentPacket<Payload> {
    public let packetNumber: PacketNumber
    public let timeSent: Instant
    public let size: Int
    public let ackEliciting: Bool
    /// Counts towards bytes in flight (false for ACK-only packets).
    public let inFlight: Bool
    /// What the connection must retransmit or mark delivered; opaque to recovery.
    public var payload: Payload

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
public struct AckResult<Payload> {
    public var newlyAcked: [SentPacket<Payload>]
    public var lost: [SentPacket<Payload>]
    /// The ACK produced a new RTT sample.
    public var rttUpdated: Bool

    public init(newlyAcked: [SentPacket<Payload>] = [], lost: [SentPacket<Payload>] = [], rttUpdated: Bool = false) {
        self.newlyAcked = newlyAcked
        self.lost = lost
        self.rttUpdated = rttUpdated
    }
}

public enum RecoveryError: Error, Equatable, Sendable {
    /// The peer acknowledged a packet number we never sent (protocol violation, or an
    /// optimistic-ACK attack).
    case ackOfUnsentPacket(PacketNumber)
}

public struct RecoveryConfig: Sendable {
    public var maxDatagramSize: Int
    public var initialRtt: Nanos
    public var maxAckDelay: Nanos
    public var congestionControl: CongestionControlKind
    /// A controller of the caller's own, in place of `congestionControl`'s.
    public var congestionControllerFactory: CongestionControllerFactory?
    public var pacing: Bool

    public init(
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
