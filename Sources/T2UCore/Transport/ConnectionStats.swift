// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// Counters and estimates of one connection; these feed `T2uNetStat` and `T2uNetRate`.
public struct ConnectionStats: Sendable, Equatable {
    public var packetsSent: UInt64 = 0
    public var packetsReceived: UInt64 = 0
    public var packetsLost: UInt64 = 0
    /// UDP payload bytes.
    public var bytesSent: UInt64 = 0
    public var bytesReceived: UInt64 = 0
    /// Stream payload bytes delivered to / accepted from the application.
    public var streamBytesSent: UInt64 = 0
    public var streamBytesReceived: UInt64 = 0
    /// Packets dropped because they failed authentication, were replays or malformed.
    public var packetsRejected: UInt64 = 0
    /// Datagrams dropped because they came from a path the `PathPolicy` excludes.
    public var packetsOffPolicy: UInt64 = 0
    /// Moves to the fallback path (relay) because the current path stopped answering.
    public var pathFailovers: UInt64 = 0
    public var smoothedRtt: Nanos = .zero
    public var minRtt: Nanos = .zero
    public var congestionWindow: Int = 0
    /// Estimated bottleneck bandwidth in bytes per second (delivery-rate samples).
    public var estimatedBandwidth: Double = 0
    public var keyUpdates: UInt64 = 0

    public init() {}

    /// Fraction of sent packets declared lost.
    public var lossRate: Double {
        packetsSent == 0 ? 0 : Double(packetsLost) / Double(packetsSent)
    }
}
