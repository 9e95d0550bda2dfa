// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import T2UCore

/// The limits a running server can change without a restart (SIGHUP): relay on/off, the
/// per-session relay budget and the per-source signaling budget.
public struct ServerLimits: Sendable, Equatable {
    public var relayAllowed: Bool
    /// Bytes per second per relay session (`relay-rate`).
    public var relayBytesPerSecond: Double
    /// Signaling datagrams per second and burst per source prefix (`signaling-rate`, `-burst`).
    public var signalingPerSecond: Double
    public var signalingBurst: Double

    /// A server started without settings. The relay rate, 1 Gbit/s, never caps a session below
    /// what a 1 Gbit/s server can carry; lower it to share a smaller uplink among sessions.
    public static let defaults = ServerLimits(
        relayAllowed: true, relayBytesPerSecond: 125_000_000,
        signalingPerSecond: 20, signalingBurst: 40)

    public init(relayAllowed: Bool, relayBytesPerSecond: Double, signalingPerSecond: Double, signalingBurst: Double) {
        self.relayAllowed = relayAllowed
        self.relayBytesPerSecond = relayBytesPerSecond
        self.signalingPerSecond = signalingPerSecond
        self.signalingBurst = signalingBurst
    }
}

extension ServerConfig {
    /// A registered agent's own SEALED budget never falls below these, whatever the per-source
    /// signaling budget (a channel carries keepalives and queries of one agent).
    static let minimumChannelPerSecond: Double = 50
    static let minimumChannelBurst: Double = 100

    /// Setting them also sets the per-channel budget: at least the per-source one (SEALED
    /// bypasses the per-source limiter, so the same budget must hold per channel).
    public var limits: ServerLimits {
        get {
            ServerLimits(
                relayAllowed: relayAllowed, relayBytesPerSecond: relayBytesPerSecond,
                signalingPerSecond: signalingPerSecond, signalingBurst: signalingBurst)
        }
        set {
            relayAllowed = newValue.relayAllowed
            relayBytesPerSecond = newValue.relayBytesPerSecond
            signalingPerSecond = newValue.signalingPerSecond
            signalingBurst = newValue.signalingBurst
            channelPerSecond = max(Self.minimumChannelPerSecond, newValue.signalingPerSecond)
            channelBurst = max(Self.minimumChannelBurst, newValue.signalingBurst)
        }
    }
}

extension ServerCore {
    /// Applies reloaded limits. New sessions and channels take them as they come; live relay
    /// sessions get a new budget at the new rate (a full bucket), and the per-source limiter
    /// starts over at the new rate (it forgets which sources were throttled). Live channels keep
    /// their budget until they re-register.
    func apply(_ limits: ServerLimits, now: Instant) {
        let old = config.limits
        config.limits = limits
        if old.signalingPerSecond != limits.signalingPerSecond || old.signalingBurst != limits.signalingBurst {
            limiter = SourceRateLimiter(
                rate: limits.signalingPerSecond, burst: limits.signalingBurst,
                capacity: config.maxTrackedSources)
        }
        if old.relayBytesPerSecond != limits.relayBytesPerSecond {
            for session in sessions.values {
                session.relayBudget = TokenBucket(
                    rate: limits.relayBytesPerSecond, burst: config.relayBurstBytes, now: now)
            }
        }
    }
}
