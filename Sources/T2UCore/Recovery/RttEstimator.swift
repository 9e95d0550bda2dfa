// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// Round-trip time estimation per RFC 9002 §5: latest, minimum, smoothed and variance.
public struct RttEstimator: Sendable {
    public private(set) var latestRtt: Nanos
    public private(set) var smoothedRtt: Nanos
    public private(set) var rttVariance: Nanos
    /// Lowest sample seen (raw, not adjusted for ack delay). Equals `initialRtt` until the first
    /// sample arrives (`hasSample`).
    public private(set) var minRtt: Nanos
    public private(set) var hasSample: Bool

    /// Timer granularity assumed for loss and probe timers.
    public static let granularity = Nanos.milliseconds(1)

    public init(initialRtt: Nanos) {
        latestRtt = initialRtt
        smoothedRtt = initialRtt
        rttVariance = initialRtt / 2
        minRtt = initialRtt
        hasSample = false
    }

    public mutating func update(sample: Nanos, ackDelay: Nanos, maxAckDelay: Nanos) {
        // A clock step or peer nonsense must not produce a negative or zero RTT.
        let sample = Swift.max(sample, Nanos(1))
        latestRtt = sample
        guard hasSample else {
            hasSample = true
            minRtt = sample
            smoothedRtt = sample
            rttVariance = sample / 2
            return
        }
        minRtt = Swift.min(minRtt, sample)
        // The peer's reported delay is bounded by what it promised, and never reduces a sample
        // below min_rtt (the delay could be inflated by a misbehaving peer).
        let delay = Swift.max(.zero, Swift.min(ackDelay, maxAckDelay))
        var adjusted = sample
        if sample >= minRtt + delay { adjusted = sample - delay }
        let deviation = smoothedRtt > adjusted ? smoothedRtt - adjusted : adjusted - smoothedRtt
        rttVariance = Nanos((3 * rttVariance.value + deviation.value) / 4)
        smoothedRtt = Nanos((7 * smoothedRtt.value + adjusted.value) / 8)
    }

    /// PTO base: smoothed + max(4*rttvar, 1ms) + maxAckDelay
    public func probeTimeout(maxAckDelay: Nanos) -> Nanos {
        smoothedRtt + Swift.max(rttVariance * Int64(4), Self.granularity) + maxAckDelay
    }
}
