// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// CUBIC congestion control (RFC 9438) with HyStart++ slow start (RFC 9406). Byte-based: the
/// RFC's segment arithmetic is scaled by the datagram size.
package struct Cubic: CongestionController {
    static let c = 0.4
    static let beta = 0.7
    /// Reno-friendly additive increase per RTT while below the previous window (RFC 9438 §4.3).
    static let alphaBelowPrior = 3 * (1 - beta) / (1 + beta)

    // HyStart++ constants (RFC 9406 §4.3).
    static let minRttThreshold = Nanos.milliseconds(4)
    static let maxRttThreshold = Nanos.milliseconds(16)
    static let minRttDivisor: Int64 = 8
    static let rttSamplesPerRound = 8
    static let cssGrowthDivisor = 4.0
    static let cssRounds = 5

    package enum SlowStartPhase: Sendable, Equatable {
        /// Exponential growth.
        case standard
        /// HyStart++ Conservative Slow Start: RTT rose, growth slowed to a quarter.
        case conservative
        /// Slow start is over (loss, or CSS lasted `cssRounds`): congestion avoidance.
        case done
    }

    let maxDatagramSize: Int
    let minimumWindow: Int
    private var cwnd: Double
    package private(set) var slowStartThreshold: Int = .max
    package private(set) var slowStartPhase: SlowStartPhase = .standard

    /// Window before the last reduction (bytes), the plateau the cubic curve aims for.
    private var wMax: Double = 0
    private var cwndPrior: Double = 0
    /// Start of the current congestion-avoidance epoch; nil until the first CA ack.
    private var epochStart: Instant?
    /// Seconds from the epoch start for the cubic curve to reach `wMax`.
    private var k: Double = 0
    /// Reno-friendly window estimate (bytes).
    private var wEst: Double = 0
    /// Packets sent before this were in flight at the last congestion event.
    private var recoveryStart: Instant?

    // HyStart++ state.
    private var lastRoundMinRtt: Nanos?
    private var currentRoundMinRtt: Nanos?
    private var rttSampleCount = 0
    private var cssBaselineMinRtt: Nanos?
    private var cssRoundCount = 0

    package init(maxDatagramSize: Int) {
        self.maxDatagramSize = maxDatagramSize
        minimumWindow = 2 * maxDatagramSize
        // RFC 9002 §7.2.
        cwnd = Double(Swift.min(10 * maxDatagramSize, Swift.max(14720, 2 * maxDatagramSize)))
    }

    package var congestionWindow: Int { Int(cwnd) }
    package var bandwidthEstimate: Double { 0 }
    package var inSlowStart: Bool { Int(cwnd) < slowStartThreshold }

    package func pacingRate(smoothedRtt: Nanos) -> Double {
        cwnd / Swift.max(smoothedRtt.seconds, 1e-6) * 1.25
    }

    package mutating func onPacketSent(now: Instant, bytes: Int, bytesInFlight: Int) {}

    package mutating func onAcked(_ sample: RateSample, rtt: RttEstimator, appLimited: Bool) {
        guard sample.ackedBytes > 0 else { return }
        // Acks of packets sent before the last reduction do not grow the window.
        if let start = recoveryStart, sample.newestAckedSentTime <= start { return }
        recoveryStart = nil

        if inSlowStart && slowStartPhase != .done { updateHyStart(sample) }
        // RFC 9002 §7.8: do not grow a window the sender is not using.
        guard !appLimited else { return }

        let acked = Double(sample.ackedBytes)
        if inSlowStart {
            cwnd += slowStartPhase == .conservative ? acked / Self.cssGrowthDivisor : acked
            return
        }
        congestionAvoidance(acked: acked, now: sample.now, rtt: rtt.smoothedRtt)
    }

    private mutating func updateHyStart(_ sample: RateSample) {
        if sample.roundStart {
            if slowStartPhase == .conservative {
                cssRoundCount += 1
                if cssRoundCount >= Self.cssRounds {
                    // The RTT increase persisted: the pipe is full, leave slow start.
                    slowStartThreshold = Int(cwnd)
                    slowStartPhase = .done
                    return
                }
            }
            lastRoundMinRtt = currentRoundMinRtt
            currentRoundMinRtt = nil
            rttSampleCount = 0
        }
        if let r = sample.rtt {
            currentRoundMinRtt = currentRoundMinRtt.map { Swift.min($0, r) } ?? r
            rttSampleCount += 1
        }
        guard rttSampleCount >= Self.rttSamplesPerRound, let current = currentRoundMinRtt else { return }
        switch slowStartPhase {
        case .standard:
            guard let last = lastRoundMinRtt else { return }
            let threshold = Swift.min(Swift.max(last / Self.minRttDivisor, Self.minRttThreshold), Self.maxRttThreshold)
            if current >= last + threshold {
                slowStartPhase = .conservative
                cssBaselineMinRtt = current
                cssRoundCount = 0
            }
        case .conservative:
            // The RTT increase was spurious: resume exponential growth.
            if let baseline = cssBaselineMinRtt, current < baseline {
                slowStartPhase = .standard
                cssBaselineMinRtt = nil
            }
        case .done:
            break
        }
    }

    private func wCubic(_ t: Double) -> Double {
        let d = t - k
        return Self.c * d * d * d * Double(maxDatagramSize) + wMax
    }

    private mutating func congestionAvoidance(acked: Double, now: Instant, rtt: Nanos) {
        let mss = Double(maxDatagramSize)
        if epochStart == nil {
            epochStart = now
            if cwnd < wMax {
                k = cubeRoot((wMax - cwnd) / mss / Self.c)
            } else {
                k = 0
                wMax = cwnd
            }
            wEst = cwnd
        }
        guard let epoch = epochStart else { return }
        let t = (now - epoch).seconds
        let target = Swift.min(Swift.max(wCubic(t + rtt.seconds), cwnd), 1.5 * cwnd)
        let alpha = wEst >= cwndPrior ? 1.0 : Self.alphaBelowPrior
        wEst += alpha * acked * mss / cwnd
        if wCubic(t) < wEst {
            cwnd = wEst  // Reno-friendly region
        } else {
            cwnd += (target - cwnd) * acked / cwnd
        }
    }

    package mutating func onCongestionEvent(
        now: Instant, largestLostSentTime: Instant, lostBytes: Int, bytesInFlight: Int
    ) {
        // One reduction per round trip: losses of packets sent before the last reduction are
        // part of the same event.
        if let start = recoveryStart, largestLostSentTime <= start { return }
        recoveryStart = now
        slowStartPhase = .done
        // Fast convergence: release bandwidth to newer flows when the plateau keeps dropping.
        wMax = cwnd < wMax ? cwnd * (1 + Self.beta) / 2 : cwnd
        cwndPrior = cwnd
        cwnd = Swift.max(cwnd * Self.beta, Double(minimumWindow))
        slowStartThreshold = Int(cwnd)
        epochStart = nil
    }

    package mutating func onPersistentCongestion(now: Instant) {
        cwnd = Double(minimumWindow)
        epochStart = nil
        slowStartPhase = .done
    }
}

@inline(__always)
func cubeRoot(_ x: Double) -> Double {
    // Newton's method from a power-of-two first guess (keeps the core free of libm imports).
    guard x > 0, x.isFinite else { return 0 }
    var y = Double(sign: .plus, exponent: x.exponent / 3, significand: 1)
    for _ in 0..<60 {
        let next = y - (y * y * y - x) / (3 * y * y)
        if abs(next - y) <= 1e-12 * Swift.max(1, abs(y)) { return next }
        y = next
    }
    return y
}
