// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import T2UCore

/// Tunables of one server process. Defaults suit a single public server.
public struct ServerConfig: Sendable {
    /// Names this server in presence records (several servers share one registry later).
    public var serverID = "t2u-1"
    /// Where other servers of the cloud reach this one's main port (`--advertise`); with a shared
    /// registry, sessions to devices homed on another server are relayed through it via this address.
    public var advertiseAddress: NetAddress?
    /// The server's X25519 key pair: agents pin its public key (`svrkey`) and register with a
    /// Noise IK handshake to it. Default: a fresh key (the runner loads `--key-file`).
    public var identity: StaticIdentity
    /// Keepalive period told to agents (seconds); agents cap it at 20 s themselves.
    public var keepaliveSeconds: UInt16 = 20
    /// A registration not refreshed for this long is offline. Default: the keepalive period
    /// plus `keepaliveGrace`, the time an agent's two retransmissions of a lost keepalive (0.5 s
    /// and 1.5 s after it) take to arrive, with slack: a silent agent is offline within about
    /// keepalive + 2 probes instead of three keepalive periods.
    public var presenceTimeout: Nanos {
        get { explicitPresenceTimeout ?? .seconds(Int64(keepaliveSeconds)) + Self.keepaliveGrace }
        set { explicitPresenceTimeout = newValue }
    }
    private var explicitPresenceTimeout: Nanos?
    public static let keepaliveGrace: Nanos = .seconds(3)
    /// INTRODUCE retransmission: first interval (doubling) and number of sends.
    public var introduceRetransmit: Nanos = .milliseconds(500)
    public var introduceMaxSends = 8
    /// A connect session without relay traffic for this long is forgotten.
    public var sessionIdleTimeout: Nanos = .seconds(120)
    public var relayAllowed = ServerLimits.defaults.relayAllowed
    /// Per-session relay budget (both directions together), bytes per second: the operator's
    /// `relay-rate` (default in `ServerLimits.defaults`).
    public var relayBytesPerSecond = ServerLimits.defaults.relayBytesPerSecond
    /// Burst of the relay budget: 32 ms at the default rate, room for paced bursts.
    public var relayBurstBytes: Double = 4_000_000
    /// Clients' REGISTERs without HELLO/CHALLENGE accepted per second, all sources together
    /// (beyond it they get `badCookie` and do the HELLO).
    public var cookielessRegistrationsPerSecond: Double = 200
    /// Per-source signaling budget (datagrams).
    public var signalingPerSecond = ServerLimits.defaults.signalingPerSecond
    public var signalingBurst = ServerLimits.defaults.signalingBurst
    /// Source prefixes (/24, /64) the rate limiter keeps; the least recently used is evicted.
    public var maxTrackedSources = 100_000
    /// Per-channel budget of SEALED datagrams (a registered agent's own limit).
    public var channelPerSecond = ServerConfig.minimumChannelPerSecond
    public var channelBurst = ServerConfig.minimumChannelBurst
    public var maxRegistrations = 1_000_000
    public var maxSessions = 100_000
    /// How often expiry and retransmission bookkeeping runs.
    public var maintenanceInterval: Nanos = .seconds(1)
    /// Cookies are valid for the current and the previous bucket of this length.
    public var cookieBucket: Nanos = .seconds(30)

    public init(identity: StaticIdentity = .generate(SystemEntropy())) {
        self.identity = identity
    }
}

/// Which of the server's two UDP sockets a datagram came in on or leaves from.
public enum ServerSocket: Sendable, Hashable {
    /// Registration, queries, introductions and relay.
    case main
    /// Second port: only answers PROBE, so agents learn their NAT's mapping behaviour.
    case observation
}

/// One datagram for the shell to send.
public struct ServerTransmit: Sendable, Equatable {
    public var destination: NetAddress
    public var socket: ServerSocket
}
