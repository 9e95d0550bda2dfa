// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// Sender-side loss recovery (RFC 9002): tracks sent packets, processes ACKs, estimates RTT and
/// delivery rate, declares losses (packet and time thresholds), runs the probe timeout, and
/// drives congestion control and pacing. Sans-IO: time comes in, deadlines go out.
package struct LossRecovery<Payload> {
    /// RFC 9002 §6.1.1 kPacketThreshold.
    static var packetThreshold: PacketNumber { 3 }
    /// Caps the PTO backoff exponent so the timer stays finite.
    static var maxPtoBackoffExponent: Int { 16 }
    /// ACK delays above this are nonsense from the peer (bounded before conversion).
    static var maxReportedAckDelayMicros: UInt64 { 60_000_000 }

    let config: RecoveryConfig
    package private(set) var rtt: RttEstimator
    package private(set) var bytesInFlight = 0
    package private(set) var ptoCount = 0
    package private(set) var largestAcked: PacketNumber?

    var controller: AnyCongestionController
    private var pacer: Pacer
    private var sent = SentPacketQueue<Payload>()
    private var largestSent: PacketNumber?
    /// Earliest time an unacknowledged packet below the largest acked becomes lost by time.
    private var lossTime: Instant?
    private var timeOfLastAckEliciting: Instant?
    private var ackElicitingInFlight = 0
    private var firstRttSampleTime: Instant?
    /// The application is not filling the window: the window must not grow.
    private var appLimited = false

    // Delivery-rate estimation state (draft-cheng-iccrg-delivery-rate-estimation §3).
    private var delivered = 0
    private var deliveredTime = Instant.zero
    private var firstSentTime = Instant.zero
    /// Nonzero while data sent in an app-limited phase is still in flight: `delivered` value
    /// after which samples are no longer app-limited.
    private var appLimitedUntil = 0
    private var nextRoundDelivered = 0
    private var roundCount: UInt64 = 0
    private var bandwidthFilter = WindowedMaxFilter(window: 10)

    package init(config: RecoveryConfig) {
        self.config = config
        rtt = RttEstimator(initialRtt: config.initialRtt)
        controller = AnyCongestionController(config: config)
        pacer = Pacer(maxDatagramSize: config.maxDatagramSize)
    }

    package var congestionWindow: Int { controller.congestionWindow }
    /// Bottleneck bandwidth estimate in bytes/s: max of delivery-rate samples over 10 rounds.
    package var estimatedBandwidth: Double { bandwidthFilter.best }
    /// Packets sent and neither acknowledged nor declared lost.
    package var outstandingPackets: Int { sent.count }
    /// The oldest packet neither acknowledged nor declared lost (e.g. what a PTO probe should
    /// carry again when there is no new data).
    package var oldestUnacked: SentPacket<Payload>? { sent.first }

    package mutating func onPacketSent(
        packetNumber: PacketNumber, now: Instant, size: Int, ackEliciting: Bool, inFlight: Bool, payload: Payload
    ) {
        if let last = largestSent, packetNumber <= last {
            assertionFailure("packet numbers must increase")
            return
        }
        largestSent = packetNumber
        if inFlight && bytesInFlight == 0 {
            // A new flight starts: rate samples must not span the idle period.
            firstSentTime = now
            deliveredTime = now
        }
        sent.append(
            SentPacket(
                packetNumber: packetNumber, timeSent: now, size: size, ackEliciting: ackEliciting, inFlight: inFlight,
                payload: payload, delivered: delivered, deliveredTime: deliveredTime, firstSentTime: firstSentTime,
                isAppLimited: appLimitedUntil != 0))
        guard inFlight else { return }
        bytesInFlight += size
        if ackEliciting {
            ackElicitingInFlight += 1
            timeOfLastAckEliciting = now
        }
        controller.onPacketSent(now: now, bytes: size, bytesInFlight: bytesInFlight)
        if config.pacing {
            pacer.onSent(now: now, size: size, rate: controller.pacingRate(smoothedRtt: rtt.smoothedRtt))
        }
        // Filling the window ends an app-limited phase.
        if bytesInFlight + config.maxDatagramSize > controller.congestionWindow { appLimited = false }
    }

    package mutating func onAckReceived(_ ack: AckFrame, now: Instant) throws(RecoveryError) -> AckResult<Payload> {
        var result = AckResult<Payload>()
        // Ranges come from the peer: do not trust their order.
        var largest: PacketNumber?
        for range in ack.ranges { largest = Swift.max(largest ?? 0, range.upperBound) }
        guard let largest else { return result }
        guard let largestSent, largest <= largestSent else { throw .ackOfUnsentPacket(largest) }
        if largestAcked.map({ largest > $0 }) ?? true { largestAcked = largest }

        var sample = RateSample(now: now)
        sample.priorInFlight = bytesInFlight
        // Largest newly acknowledged packet (number, send time), for the RTT sample.
        var newestPacketNumber: PacketNumber?
        var newestSentTime = Instant.zero
        var anyAckEliciting = false
        // Snapshot of the most recently sent acked packet, for the rate sample.
        var priorDelivered = -1
        var sendElapsed = Nanos.zero
        var ackElapsed = Nanos.zero
        var sampleAppLimited = false

        if !sent.isEmpty {
            let base = sent.basePacketNumber
            let top = sent.endPacketNumber - 1
            // Ascending order: ranges are descending on the wire.
            for range in ack.ranges.reversed() {
                let lo = Swift.max(range.lowerBound, base)
                let hi = Swift.min(range.upperBound, top)
                guard lo <= hi else { continue }
                for pn in lo...hi {
                    guard let packet = sent.remove(pn) else { continue }
                    if packet.inFlight {
                        bytesInFlight -= packet.size
                        sample.ackedBytes += packet.size
                        if packet.ackEliciting { ackElicitingInFlight -= 1 }
                        delivered += packet.size
                        deliveredTime = now
                        if packet.delivered >= priorDelivered {
                            priorDelivered = packet.delivered
                            sampleAppLimited = packet.isAppLimited
                            sendElapsed = packet.timeSent - packet.firstSentTime
                            ackElapsed = now - packet.deliveredTime
                            firstSentTime = packet.timeSent
                            sample.newestAckedSentTime = packet.timeSent
                        }
                    }
                    if packet.ackEliciting { anyAckEliciting = true }
                    if newestPacketNumber.map({ packet.packetNumber > $0 }) ?? true {
                        newestPacketNumber = packet.packetNumber
                        newestSentTime = packet.timeSent
                    }
                    result.newlyAcked.append(packet)
                }
            }
        }
        guard let newestPacketNumber else { return result }
        ptoCount = 0

        if newestPacketNumber == largest, anyAckEliciting {
            let delayMicros = Swift.min(ack.ackDelayMicros, Self.maxReportedAckDelayMicros)
            rtt.update(
                sample: now - newestSentTime, ackDelay: .microseconds(Int64(delayMicros)),
                maxAckDelay: config.maxAckDelay)
            if firstRttSampleTime == nil { firstRttSampleTime = now }
            result.rttUpdated = true
            sample.rtt = rtt.latestRtt
        }

        let losses = detectLostPackets(now: now)
        result.lost = losses.lost
        sent.trimFront()

        if priorDelivered >= 0 {
            finishRateSample(
                &sample, priorDelivered: priorDelivered, sendElapsed: sendElapsed, ackElapsed: ackElapsed,
                appLimited: sampleAppLimited)
        }
        sample.bytesInFlight = bytesInFlight
        onLosses(losses, now: now)
        if sample.ackedBytes > 0 {
            controller.onAcked(sample, rtt: rtt, appLimited: appLimited)
        }
        return result
    }

    private mutating func finishRateSample(
        _ sample: inout RateSample, priorDelivered: Int, sendElapsed: Nanos, ackElapsed: Nanos, appLimited: Bool
    ) {
        if appLimitedUntil != 0 && delivered > appLimitedUntil { appLimitedUntil = 0 }
        if priorDelivered >= nextRoundDelivered {
            nextRoundDelivered = delivered
            roundCount += 1
            sample.roundStart = true
        }
        sample.roundCount = roundCount
        sample.totalDelivered = delivered
        sample.isAppLimited = appLimited
        sample.delivered = delivered - priorDelivered
        // The slower of the send and ack rates: ACK compression must not inflate the sample.
        sample.interval = Swift.max(sendElapsed, ackElapsed)
        guard sample.interval > .zero, !rtt.hasSample || sample.interval >= rtt.minRtt else { return }
        sample.deliveryRate = Double(sample.delivered) / sample.interval.seconds
        if !appLimited || sample.deliveryRate >= bandwidthFilter.best {
            bandwidthFilter.update(sample.deliveryRate, time: roundCount)
        }
    }

    private struct Losses {
        var lost: [SentPacket<Payload>] = []
        var lostInFlightBytes = 0
        var largestLostSentTime = Instant.zero
        var persistentCongestion = false
    }

    /// RFC 9002 §6.1: declares lost every unacknowledged packet below the largest acknowledged
    /// that is 3 packets older or sent more than 9/8 RTT ago; arms `lossTime` for the rest.
    private mutating func detectLostPackets(now: Instant) -> Losses {
        var losses = Losses()
        lossTime = nil
        guard let largestAcked, !sent.isEmpty else { return losses }
        let lossDelay = Swift.max(Swift.max(rtt.latestRtt, rtt.smoothedRtt) * Int64(9) / 8, RttEstimator.granularity)
        let lostSendTime = now - lossDelay
        let end = Swift.min(largestAcked, sent.endPacketNumber - 1)
        // Persistent congestion: a run of lost ack-eliciting packets with no acknowledged packet
        // between them, spanning more than 3 PTOs (RFC 9002 §7.6).
        let congestionPeriod = rtt.probeTimeout(maxAckDelay: config.maxAckDelay) * Int64(3)
        var runStart: Instant?
        var pn = sent.basePacketNumber
        while pn <= end {
            defer { pn += 1 }
            guard let packet = sent[pn] else {
                runStart = nil  // acknowledged (or never sent): the run is broken
                continue
            }
            guard packet.timeSent <= lostSendTime || largestAcked >= pn + Self.packetThreshold else {
                let at = packet.timeSent + lossDelay
                if lossTime.map({ at < $0 }) ?? true { lossTime = at }
                continue
            }
            _ = sent.remove(pn)
            if packet.inFlight {
                bytesInFlight -= packet.size
                losses.lostInFlightBytes += packet.size
                if packet.timeSent > losses.largestLostSentTime { losses.largestLostSentTime = packet.timeSent }
                if packet.ackEliciting {
                    ackElicitingInFlight -= 1
                    if let firstSample = firstRttSampleTime, packet.timeSent > firstSample {
                        if let start = runStart {
                            if packet.timeSent - start > congestionPeriod { losses.persistentCongestion = true }
                        } else {
                            runStart = packet.timeSent
                        }
                    }
                }
            }
            losses.lost.append(packet)
        }
        return losses
    }

    private mutating func onLosses(_ losses: Losses, now: Instant) {
        guard losses.lostInFlightBytes > 0 else { return }
        controller.onCongestionEvent(
            now: now, largestLostSentTime: losses.largestLostSentTime, lostBytes: losses.lostInFlightBytes,
            bytesInFlight: bytesInFlight)
        if losses.persistentCongestion { controller.onPersistentCongestion(now: now) }
    }

    package func lossDetectionDeadline() -> Instant? {
        if let lossTime { return lossTime }
        guard ackElicitingInFlight > 0, let last = timeOfLastAckEliciting else { return nil }
        let backoff = Int64(1) << Int64(Swift.min(ptoCount, Self.maxPtoBackoffExponent))
        return last + rtt.probeTimeout(maxAckDelay: config.maxAckDelay) * backoff
    }

    /// Probe packets must be ack-eliciting and are sent even when the congestion window is full
    /// (RFC 9002 §6.2.4); calling this before the deadline does nothing.
    package mutating func onLossDetectionTimeout(now: Instant) -> (lost: [SentPacket<Payload>], probes: Int) {
        guard let deadline = lossDetectionDeadline(), now >= deadline else { return ([], 0) }
        if lossTime != nil {
            let losses = detectLostPackets(now: now)
            sent.trimFront()
            onLosses(losses, now: now)
            return (losses.lost, 0)
        }
        // PTO: nothing is declared lost; probe to elicit an ACK. Back off exponentially.
        ptoCount += 1
        return ([], ptoCount > 1 ? 2 : 1)
    }

    /// The payloads of the oldest `limit` ack-eliciting packets in flight, which a PTO probe
    /// carries again (RFC 9002 §6.2.4): when a probe only elicits an ACK, a lost packet costs
    /// the probe timeout and then a round trip more before its loss is seen and repaired.
    package func oldestInFlightPayloads(limit: Int) -> [Payload] {
        var payloads: [Payload] = []
        var pn = sent.basePacketNumber
        while pn < sent.endPacketNumber, payloads.count < limit {
            if let packet = sent[pn], packet.inFlight, packet.ackEliciting { payloads.append(packet.payload) }
            pn += 1
        }
        return payloads
    }

    package func congestionAllowance() -> Int {
        Swift.max(0, controller.congestionWindow - bytesInFlight)
    }

    package func pacingDeadline(now: Instant, size: Int) -> Instant {
        guard config.pacing else { return now }
        return pacer.deadline(now: now, size: size, rate: controller.pacingRate(smoothedRtt: rtt.smoothedRtt))
    }

    /// Current pacing rate in bytes/s.
    package var pacingRate: Double { controller.pacingRate(smoothedRtt: rtt.smoothedRtt) }

    package mutating func onAppLimited() {
        appLimited = true
        appLimitedUntil = Swift.max(delivered + bytesInFlight, 1)
    }

    /// The connection moved to a new path (RFC 9000 §9.4): forget RTT, bandwidth and window,
    /// which described the old path. Packets in flight stay tracked and can still be acked.
    package mutating func resetForNewPath() {
        rtt = RttEstimator(initialRtt: config.initialRtt)
        controller = AnyCongestionController(config: config)
        pacer = Pacer(maxDatagramSize: config.maxDatagramSize)
        bandwidthFilter = WindowedMaxFilter(window: 10)
        firstRttSampleTime = nil
        appLimited = false
        appLimitedUntil = 0
        ptoCount = 0
    }

    package mutating func discardAll() -> [SentPacket<Payload>] {
        let remaining = sent.removeAll()
        bytesInFlight = 0
        ackElicitingInFlight = 0
        lossTime = nil
        timeOfLastAckEliciting = nil
        return remaining
    }
}

extension LossRecovery: Sendable where Payload: Sendable {}
