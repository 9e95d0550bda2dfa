// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// Device-wide bounds on punches, across introductions (docs/SECURITY.md §4). Each plan is
/// already capped (`TraversalConfig.maxPunches`); this keeps repeated introductions for the
/// same client from multiplying it and paces the device as a whole:
/// - per destination IP: `perDestination` punches per `window` (one full plan), refilled
///   evenly; a CONNECT repeated every second toward one address buys nothing more;
/// - all destinations: `paceRate` punches a second with bursts of `paceBurst` (one round of
///   256 auxiliary-socket punches plus the candidate rounds fits).
/// Sans-IO: the caller asks before each send, on its own clock.
public struct PunchBudget: Sendable {
    public struct Config: Sendable {
        public var perDestination = Double(TraversalConfig.defaultMaxPunches)
        public var window: Nanos = .seconds(10)
        public var paceRate: Double = 2500
        public var paceBurst: Double = 600
        /// Destination IPs remembered (`TokenBucketTable`).
        public var destinations = 1024

        public init() {}
    }

    public enum Verdict: Equatable, Sendable {
        case send
        /// Not the observed client IP nor a host on our subnets (a planner bug if ever seen).
        case outOfScope
        case destinationExhausted
        case paced
    }

    public struct Counters: Equatable, Sendable {
        public var sent = 0
        public var outOfScope = 0
        public var destinationExhausted = 0
        public var paced = 0
        /// Candidates of introductions left out of the plan (`PunchScope`).
        public var candidatesDropped = 0
    }

    public let config: Config
    public private(set) var counters = Counters()
    private var perDestination: TokenBucketTable<NetAddress.Host>
    private var pace: TokenBucket

    public init(config: Config = .init(), now: Instant) {
        self.config = config
        perDestination = TokenBucketTable(
            rate: config.perDestination / max(config.window.seconds, 0.001),
            burst: config.perDestination, capacity: config.destinations)
        pace = TokenBucket(rate: config.paceRate, burst: config.paceBurst, now: now)
    }

    /// Whether one punch to `destination` may go now; counts the verdict.
    public mutating func admit(_ destination: NetAddress, scope: PunchScope, now: Instant) -> Verdict {
        let verdict: Verdict
        if !scope.allows(destination) {
            verdict = .outOfScope
        } else if !perDestination.take(destination.host, now: now) {
            verdict = .destinationExhausted
        } else if !pace.take(now: now) {
            verdict = .paced
        } else {
            verdict = .send
        }
        switch verdict {
        case .send: counters.sent += 1
        case .outOfScope: counters.outOfScope += 1
        case .destinationExhausted: counters.destinationExhausted += 1
        case .paced: counters.paced += 1
        }
        return verdict
    }

    public mutating func countDroppedCandidates(_ count: Int) {
        counters.candidatesDropped += count
    }
}
