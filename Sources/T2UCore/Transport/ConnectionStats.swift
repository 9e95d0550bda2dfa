// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// Counters and estimates of one connection; these feed `T2uNetStat` and `T2uNetRate`.
package struct ConnectionStats: Sendable, Equatable {
    package var packetsSent: UInt64 = 0
    package var packetsReceived: UInt64 = 0
    package var packetsLost: UInt64 = 0
    /// UDP payload bytes.
    package var bytesSent: UInt64 = 0
    package var bytesReceived: UInt64 = 0
    /// Stream payload bytes delivered to / accepted from the application.
    package var streamBytesSent: UInt64 = 0
    package var streamBytesReceived: UInt64 = 0
    /// Packets dropped because they failed authentication, were replays or malformed.
    package var packetsRejected: UInt64 = 0
    /// Datagrams dropped because they came from a path the `PathPolicy` excludes.
    package var packetsOffPolicy: UInt64 = 0
    /// Moves to the fallback path (relay) because the current path stopped answering.
    package var pathFailovers: UInt64 = 0
    package var smoothedRtt: Nanos = .zero
    package var minRtt: Nanos = .zero
    package var congestionWindow: Int = 0
    /// Estimated bottleneck bandwidth in bytes per second (delivery-rate samples).
    package var estimatedBandwidth: Double = 0
    package var keyUpdates: UInt64 = 0

    package init() {}

    /// Fraction of sent packets declared lost.
    package var lossRate: Double {
        packetsSent == 0 ? 0 : Double(packetsLost) / Double(packetsSent)
    }
}
