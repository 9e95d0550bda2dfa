// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// Model-based congestion control in the style of BBR v1: it measures the bottleneck bandwidth
/// (windowed max of delivery-rate samples over 10 rounds) and the path's minimum RTT, paces at
/// gain × bandwidth and keeps about two bandwidth-delay products in flight.
///
/// Random loss does not change the model, so it does not cut the rate. Loss still bounds the
/// window: a round losing more than `lossThreshold` of its data caps inflight multiplicatively
/// (the cap then grows back round by round), and persistent congestion collapses the window.
package struct Bbr: CongestionController {
    package enum Mode: Sendable, Equatable { case startup, drain, probeBandwidth, probeRtt }

    static let highGain = 2.885  // 2/ln(2): doubles the delivery rate each round
    static let drainGain = 1 / 2.885
    static let probeBandwidthCwndGain = 2.0
    static let bandwidthWindowRounds: UInt64 = 10
    static let minRttWindow = Nanos.seconds(10)
    static let probeRttDuration = Nanos.milliseconds(200)
    /// ProbeRTT keeps half a BDP in flight (BBRv2), not BBRv1's four packets: enough to empty
    /// the queue and see the path's minimum RTT, without stopping a long fat path for the
    /// drain, the 200 ms and the round trip after (over half a second at 160 ms RTT).
    static let probeRttCwndGain = 0.5
    static let fullBandwidthGrowth = 1.25
    static let fullBandwidthRounds = 3
    /// Fraction of a round's data lost above which inflight is capped (well above random loss
    /// rates BBR is meant to ignore; overflowing a shallow buffer exceeds it).
    static let lossThreshold = 0.25
    static let lossCapFactor = 0.7
    static let cycleLength = 8

    let maxDatagramSize: Int
    let minimumWindow: Int
    let initialWindow: Int
    let initialRtt: Nanos

    package private(set) var mode: Mode = .startup
    private var bandwidthFilter = WindowedMaxFilter(window: bandwidthWindowRounds)
    package private(set) var minRtt: Nanos?
    private var minRttStamp: Instant = .zero
    package private(set) var pacingGain = highGain
    private var cwndGain = highGain
    private var cwnd: Int
    package private(set) var filledPipe = false
    private var fullBandwidth = 0.0
    private var fullBandwidthCount = 0
    private var cycleIndex = 0
    private var cycleStamp: Instant = .zero
    private var probeRttDone: Instant?
    private var probeRttRoundDone = false
    private var priorCwnd = 0
    private var roundCount: UInt64 = 0
    /// Loss-induced bound on inflight, nil when loss has been acceptable.
    package private(set) var inflightCap: Int?
    private var roundLostBytes = 0
    private var roundAckedBytes = 0

    package init(maxDatagramSize: Int, initialRtt: Nanos) {
        self.maxDatagramSize = maxDatagramSize
        minimumWindow = 4 * maxDatagramSize
        initialWindow = Swift.min(10 * maxDatagramSize, Swift.max(14720, 2 * maxDatagramSize))
        self.initialRtt = initialRtt
        cwnd = initialWindow
    }

    package var congestionWindow: Int { cwnd }
    package var bandwidthEstimate: Double { bandwidthFilter.best }

    package func pacingRate(smoothedRtt: Nanos) -> Double {
        let bw = bandwidthFilter.best
        if bw > 0 { return pacingGain * bw }
        // No sample yet: spread the initial window over the (initial) RTT at startup gain.
        let rtt = minRtt ?? smoothedRtt
        return Self.highGain * Double(cwnd) / Swift.max(rtt.seconds, 1e-6)
    }

    private var probeRttWindow: Int { Swift.max(minimumWindow, bdp(Self.probeRttCwndGain)) }

    /// Bandwidth-delay product times `gain`, in bytes.
    func bdp(_ gain: Double) -> Int {
        guard let rtt = minRtt, bandwidthFilter.best > 0 else { return initialWindow }
        return Int(gain * bandwidthFilter.best * rtt.seconds)
    }

    private static func cycleGain(_ index: Int) -> Double {
        switch index {
        case 0: 1.25  // probe for more bandwidth
        case 1: 0.75  // drain the queue the probe built
        default: 1.0
        }
    }

    package mutating func onPacketSent(now: Instant, bytes: Int, bytesInFlight: Int) {}

    package mutating func onAcked(_ sample: RateSample, rtt: RttEstimator, appLimited: Bool) {
        guard sample.ackedBytes > 0 else { return }
        let now = sample.now
        roundCount = sample.roundCount
        if sample.roundStart { endLossRound() }
        roundAckedBytes += sample.ackedBytes

        if sample.deliveryRate > 0, !sample.isAppLimited || sample.deliveryRate >= bandwidthFilter.best {
            bandwidthFilter.update(sample.deliveryRate, time: roundCount)
        }
        if mode == .probeBandwidth { advanceCycleIfDue(sample) }
        if !filledPipe, sample.roundStart, !sample.isAppLimited { checkFullPipe() }
        if mode == .startup, filledPipe {
            mode = .drain
            pacingGain = Self.drainGain
            cwndGain = Self.highGain
        }
        if mode == .drain, sample.bytesInFlight <= bdp(1.0) { enterProbeBandwidth(now) }
        updateMinRtt(sample)
        setCwnd(sample)
    }

    private mutating func endLossRound() {
        let total = roundLostBytes + roundAckedBytes
        // A thin round (the sender ran out of data or credit) acknowledges little while its
        // losses may be those of the fuller flight before it, found a round late: their ratio
        // says nothing about the bottleneck.
        let thin = roundAckedBytes < cwnd / 4
        if !thin, total > 0, roundLostBytes >= 3 * maxDatagramSize,
            Double(roundLostBytes) / Double(total) > Self.lossThreshold
        {
            inflightCap = Swift.max(
                minimumWindow, Int(Double(inflightCap.map { Swift.min($0, cwnd) } ?? cwnd) * Self.lossCapFactor))
            // Startup overflowing the buffer means the pipe is full.
            filledPipe = true
        } else if let cap = inflightCap {
            let grown = cap + cap / 4 + maxDatagramSize
            inflightCap = grown >= 2 * bdp(cwndGain) ? nil : grown
        }
        roundLostBytes = 0
        roundAckedBytes = 0
    }

    private mutating func checkFullPipe() {
        let bw = bandwidthFilter.best
        if bw >= fullBandwidth * Self.fullBandwidthGrowth {
            fullBandwidth = bw
            fullBandwidthCount = 0
            return
        }
        fullBandwidthCount += 1
        if fullBandwidthCount >= Self.fullBandwidthRounds { filledPipe = true }
    }

    private mutating func enterProbeBandwidth(_ now: Instant) {
        mode = .probeBandwidth
        cwndGain = Self.probeBandwidthCwndGain
        // Start cruising; the probe phase comes after the cruise phases.
        cycleIndex = 2
        cycleStamp = now
        pacingGain = Self.cycleGain(cycleIndex)
    }

    private mutating func advanceCycleIfDue(_ sample: RateSample) {
        let fullLength = sample.now - cycleStamp > (minRtt ?? initialRtt)
        let advance: Bool
        switch cycleIndex {
        case 0: advance = fullLength && (roundLostBytes > 0 || sample.priorInFlight >= bdp(1.25))
        case 1: advance = fullLength || sample.priorInFlight <= bdp(1.0)
        default: advance = fullLength
        }
        guard advance else { return }
        cycleIndex = (cycleIndex + 1) % Self.cycleLength
        cycleStamp = sample.now
        pacingGain = Self.cycleGain(cycleIndex)
    }

    private mutating func updateMinRtt(_ sample: RateSample) {
        let now = sample.now
        // No estimate yet is not an expired one (the clock need not start near zero).
        let expired = minRtt != nil && now > minRttStamp + Self.minRttWindow
        if let r = sample.rtt, r <= (minRtt ?? r) || expired {
            minRtt = r
            minRttStamp = now
        }
        if expired, mode != .probeRtt, minRtt != nil {
            // Drain the queue briefly to see the path's real minimum RTT.
            mode = .probeRtt
            pacingGain = 1
            cwndGain = 1
            priorCwnd = Swift.max(priorCwnd, cwnd)
            probeRttDone = nil
            probeRttRoundDone = false
        }
        guard mode == .probeRtt else { return }
        if probeRttDone == nil {
            if sample.bytesInFlight <= probeRttWindow {
                probeRttDone = now + Self.probeRttDuration
                probeRttRoundDone = false
            }
        } else {
            if sample.roundStart { probeRttRoundDone = true }
            if probeRttRoundDone, let done = probeRttDone, now >= done {
                minRttStamp = now
                cwnd = Swift.max(cwnd, priorCwnd)
                priorCwnd = 0
                if filledPipe {
                    enterProbeBandwidth(now)
                } else {
                    mode = .startup
                    pacingGain = Self.highGain
                    cwndGain = Self.highGain
                }
            }
        }
    }

    private mutating func setCwnd(_ sample: RateSample) {
        // Room for a few pacer bursts on top of the BDP (like Linux BBR's quantization budget
        // for TSO bursts): at high rates the pacer releases ~1 ms of data at once, and on a
        // sub-millisecond path 2 x BDP is smaller than one burst, so the window, not the model,
        // would limit the rate and the flow would degrade to one burst per round trip.
        let burst = Pacer.burstBytes(rate: pacingRate(smoothedRtt: initialRtt), maxDatagramSize: maxDatagramSize)
        let target = bdp(cwndGain) + 3 * Int(burst)
        if filledPipe {
            cwnd = Swift.min(cwnd + sample.ackedBytes, target)
        } else if cwnd < target || sample.totalDelivered < initialWindow {
            cwnd += sample.ackedBytes
        }
        cwnd = Swift.max(cwnd, minimumWindow)
        if mode == .probeRtt { cwnd = Swift.min(cwnd, probeRttWindow) }
        if let cap = inflightCap { cwnd = Swift.min(cwnd, cap) }
    }

    package mutating func onCongestionEvent(
        now: Instant, largestLostSentTime: Instant, lostBytes: Int, bytesInFlight: Int
    ) {
        // No reaction to the rate: the model already reflects what was delivered. Losses are
        // counted per round to detect overload (see `endLossRound`).
        roundLostBytes += lostBytes
    }

    package mutating func onPersistentCongestion(now: Instant) {
        // Everything sent for several RTTs was lost: the path changed or is overloaded. Restart
        // from a minimal window; the model regrows it within a few rounds if the path is fine.
        priorCwnd = 0
        cwnd = minimumWindow
    }
}
