// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// Timing and sizes of a traversal plan. Defaults follow the design: candidates first, the
/// NAT-specific strategy shortly after, everything bounded by `window`.
public struct TraversalConfig: Sendable {
    /// Device: rounds of punches toward the client's candidates (NAT bindings open for the
    /// client's retrying probes whichever arrives first).
    public var punchRounds: [Nanos] = [
        .zero, .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2),
    ]
    /// Client: rounds of probes to the device's candidates (each probe retries on its own).
    public var probeRounds: [Nanos] = [.zero, .seconds(1), .seconds(3)]
    /// Probe challenges per candidate probe.
    public var probeAttempts = 3
    /// Delay before prediction / birthday start (a candidate path usually wins first); zero
    /// when the per-peer memory says that strategy worked last time.
    public var strategyDelay: Nanos = .milliseconds(300)
    /// Predicted ports tried: reflexive port + k * delta.
    public var predictedPorts = 16
    /// Birthday: auxiliary sockets on the random endpoint-dependent side (K).
    public var birthdaySockets = 256
    /// Birthday: probes / punches from the endpoint-independent side (N), at `sprayRate`.
    public var sprayCount = 2048
    public var sprayRate = 1000
    /// Birthday: rounds of punches from every auxiliary socket (keeps the K mappings open and
    /// covers the spray's duration).
    public var auxiliaryPunchRounds: [Nanos] = [.zero, .milliseconds(500), .seconds(1), .seconds(2), .seconds(4)]
    /// The plan's lifetime: nothing is emitted after it (auxiliary sockets then close).
    public var window: Nanos = .seconds(10)
    /// Ports the spray may pick (the dynamic range NATs allocate from).
    public var sprayPorts: ClosedRange<UInt16> = 1024...65535
    /// Punches one plan may emit at most, whatever a peer's NAT claims (docs/SECURITY.md §4):
    /// the largest default plan, (8 candidates + the reflexive address) x 6 rounds + the
    /// 2048-punch spray = 2102 (prediction, 48, and birthday never share a plan). The latest
    /// punches beyond it are left out.
    public var maxPunches = Self.defaultMaxPunches
    public static let defaultMaxPunches = (SignalingLimits.maxCandidates + 1) * 6 + 2048

    public init() {}

    /// Probability that N probes to random ports hit one of K mappings: 1 - (1 - K/P)^N.
    public static func birthdayHitProbability(sockets k: Int, probes n: Int, portSpace p: Int = 64512) -> Double {
        guard p > 0 else { return 0 }
        let miss = 1 - Double(min(k, p)) / Double(p)
        var result = 1.0
        var base = miss
        var exponent = n
        while exponent > 0 {
            if exponent & 1 == 1 { result *= base }
            base *= base
            exponent >>= 1
        }
        return 1 - result
    }
}
