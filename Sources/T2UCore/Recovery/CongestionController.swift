// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// A congestion controller driven by `LossRecovery`. Windows are in bytes; rates in bytes/s.
public protocol CongestionController: Sendable {
    /// Bytes allowed in flight.
    var congestionWindow: Int { get }
    /// Rate at which the pacer should release packets, in bytes per second.
    func pacingRate(smoothedRtt: Nanos) -> Double
    /// Bottleneck bandwidth estimate the controller acts on (0 when it keeps none).
    var bandwidthEstimate: Double { get }
    mutating func onPacketSent(now: Instant, bytes: Int, bytesInFlight: Int)
    /// Once per ACK that acknowledged new in-flight data. `appLimited`: the sender has not been
    /// using the window, so it should not grow.
    mutating func onAcked(_ sample: RateSample, rtt: RttEstimator, appLimited: Bool)
    /// In-flight packets were declared lost; `largestLostSentTime` is the send time of the newest.
    mutating func onCongestionEvent(now: Instant, largestLostSentTime: Instant, lostBytes: Int, bytesInFlight: Int)
    /// RFC 9002 §7.6: a whole PTO-period of packets was lost.
    mutating func onPersistentCongestion(now: Instant)
}

/// Makes a connection's congestion controller, for one of your own
/// (`TransportConfig.congestionControllerFactory`); asked again whenever the connection moves
/// to a new path (the old path's state says nothing about the new one).
public struct CongestionControllerFactory: Sendable {
    public let make: @Sendable (_ maxDatagramSize: Int, _ initialRtt: Nanos) -> any CongestionController

    public init(_ make: @escaping @Sendable (_ maxDatagramSize: Int, _ initialRtt: Nanos) -> any CongestionController) {
        self.make = make
    }
}

/// Static dispatch over the built-in controllers (no existential on the per-ACK path); a
/// plugged-in controller goes through the protocol.
enum AnyCongestionController: Sendable {
    case cubic(Cubic)
    case bbr(Bbr)
    case custom(any CongestionController)

    init(config: RecoveryConfig) {
        if let factory = config.congestionControllerFactory {
            self = .custom(factory.make(config.maxDatagramSize, config.initialRtt))
            return
        }
        switch config.congestionControl {
        case .cubic: self = .cubic(Cubic(maxDatagramSize: config.maxDatagramSize))
        case .bbr: self = .bbr(Bbr(maxDatagramSize: config.maxDatagramSize, initialRtt: config.initialRtt))
        }
    }

    var congestionWindow: Int {
        switch self {
        case .cubic(let c): c.congestionWindow
        case .bbr(let b): b.congestionWindow
        case .custom(let c): c.congestionWindow
        }
    }

    var bandwidthEstimate: Double {
        switch self {
        case .cubic(let c): c.bandwidthEstimate
        case .bbr(let b): b.bandwidthEstimate
        case .custom(let c): c.bandwidthEstimate
        }
    }

    func pacingRate(smoothedRtt: Nanos) -> Double {
        switch self {
        case .cubic(let c): c.pacingRate(smoothedRtt: smoothedRtt)
        case .bbr(let b): b.pacingRate(smoothedRtt: smoothedRtt)
        case .custom(let c): c.pacingRate(smoothedRtt: smoothedRtt)
        }
    }

    mutating func onPacketSent(now: Instant, bytes: Int, bytesInFlight: Int) {
        switch self {
        case .cubic(var c):
            c.onPacketSent(now: now, bytes: bytes, bytesInFlight: bytesInFlight)
            self = .cubic(c)
        case .bbr(var b):
            b.onPacketSent(now: now, bytes: bytes, bytesInFlight: bytesInFlight)
            self = .bbr(b)
        case .custom(var c):
            c.onPacketSent(now: now, bytes: bytes, bytesInFlight: bytesInFlight)
            self = .custom(c)
        }
    }

    mutating func onAcked(_ sample: RateSample, rtt: RttEstimator, appLimited: Bool) {
        switch self {
        case .cubic(var c):
            c.onAcked(sample, rtt: rtt, appLimited: appLimited)
            self = .cubic(c)
        case .bbr(var b):
            b.onAcked(sample, rtt: rtt, appLimited: appLimited)
            self = .bbr(b)
        case .custom(var c):
            c.onAcked(sample, rtt: rtt, appLimited: appLimited)
            self = .custom(c)
        }
    }

    mutating func onCongestionEvent(now: Instant, largestLostSentTime: Instant, lostBytes: Int, bytesInFlight: Int) {
        switch self {
        case .cubic(var c):
            c.onCongestionEvent(
                now: now, largestLostSentTime: largestLostSentTime, lostBytes: lostBytes, bytesInFlight: bytesInFlight)
            self = .cubic(c)
        case .bbr(var b):
            b.onCongestionEvent(
                now: now, largestLostSentTime: largestLostSentTime, lostBytes: lostBytes, bytesInFlight: bytesInFlight)
            self = .bbr(b)
        case .custom(var c):
            c.onCongestionEvent(
                now: now, largestLostSentTime: largestLostSentTime, lostBytes: lostBytes, bytesInFlight: bytesInFlight)
            self = .custom(c)
        }
    }

    mutating func onPersistentCongestion(now: Instant) {
        switch self {
        case .cubic(var c):
            c.onPersistentCongestion(now: now)
            self = .cubic(c)
        case .bbr(var b):
            b.onPersistentCongestion(now: now)
            self = .bbr(b)
        case .custom(var c):
            c.onPersistentCongestion(now: now)
            self = .custom(c)
        }
    }
}
