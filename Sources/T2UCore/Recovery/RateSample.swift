// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// What one ACK tells the congestion controller: bytes acknowledged plus a delivery-rate sample
/// (draft-cheng-iccrg-delivery-rate-estimation) and the delivery round it belongs to.
public struct RateSample: Sendable {
    public var now: Instant
    /// Bytes of in-flight packets newly acknowledged by this ACK.
    public var ackedBytes: Int = 0
    /// Delivered bytes over `interval` / `interval`, in bytes per second; 0 when no valid sample.
    public var deliveryRate: Double = 0
    /// The sample was taken while the sender was application-limited: it may understate the path.
    public var isAppLimited: Bool = false
    public var interval: Nanos = .zero
    /// Bytes delivered during `interval`.
    public var delivered: Int = 0
    /// Bytes in flight before this ACK was processed, and after (acked and lost removed).
    public var priorInFlight: Int = 0
    public var bytesInFlight: Int = 0
    /// RTT sample from this ACK, if it produced one.
    public var rtt: Nanos?
    /// Send time of the most recently sent packet this ACK acknowledged.
    public var newestAckedSentTime: Instant = .zero
    /// This ACK began a new delivery round (one round trip of data).
    public var roundStart: Bool = false
    /// Delivery rounds elapsed since the connection started.
    public var roundCount: UInt64 = 0
    /// Total bytes delivered on the connection.
    public var totalDelivered: Int = 0

    public init(now: Instant) { self.now = now }
}
