// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import T2UCore

/// Why the server dropped a datagram (metric `t2u_server_rejected_packets_total{reason=...}`).
public enum RejectReason: String, Sendable, CaseIterable {
    case malformed
    case unknownType
    /// A signaling message only the server sends (CHALLENGE, REGISTERED, ...).
    case unexpectedMessage
    /// HELLO or PROBE shorter than the padding rule requires.
    case unpadded
    case rateLimited
    case badCookie
    /// A REGISTER encrypted to another server key (the agent pinned a different `svrkey`).
    case serverKeyRejected
    /// A REGISTER whose static or payload did not authenticate (no private key for the static).
    case registrationForged
    /// A device REGISTER for a UUID bound to another key (`identityConflict`).
    case bindingConflict
    /// Closed enrollment: no valid certificate (`notEnrolled`).
    case notEnrolled
    /// A channel message (keepalive, query, connect, ...) sent outside SEALED.
    case unsealed
    /// A SEALED packet of a live channel that did not authenticate (stolen token, forged).
    case sealedForged
    /// A SEALED packet whose counter was seen before or is too old (replay).
    case sealedReplayed
    /// A live channel over its own SEALED budget.
    case channelRateLimited
    case unknownSession
    case capacity
    /// A reply to an unverified source would have been larger than its request.
    case amplification
    case relayUnknownSession
    /// A transport packet for a known session from an address that is not one of its parties.
    case relayStranger
    case relayRateLimited
    case relayDisabled
    /// A peer server's introduction for a device not homed here (any more), or a clashing ID.
    case peerIntroductionRejected
}

/// One row of the punch-outcome table: the NAT behaviours of the two parties (labels from
/// `ServerCore.natLabel(for:)`) and the path their session settled on.
public struct PunchOutcome: Hashable, Sendable {
    public var clientNAT: String
    public var deviceNAT: String
    public var path: SignalingPathKind

    public init(clientNAT: String, deviceNAT: String, path: SignalingPathKind) {
        self.clientNAT = clientNAT
        self.deviceNAT = deviceNAT
        self.path = path
    }
}

/// What the server did, for logs, tests and metrics. Monotonic counters only; the gauges
/// (who is online now) are in `ServerGauges`.
public struct ServerCounters: Sendable, Equatable {
    public var datagramsReceived: UInt64 = 0
    public var signalingReplies: UInt64 = 0
    public var registrations: UInt64 = 0
    public var expirations: UInt64 = 0
    public var introductionsSent: UInt64 = 0
    public var queries: UInt64 = 0
    /// CONNECT requests that created a session (retransmissions are not counted again).
    public var connects: UInt64 = 0
    /// CONNECTs for devices homed on other servers, passed on; and those taken from peers.
    public var peerIntroductionsSent: UInt64 = 0
    public var peerIntroductionsReceived: UInt64 = 0
    public var relayedPackets: UInt64 = 0
    public var relayedBytes: UInt64 = 0
    /// RELAY_UNKNOWN replies sent, and relay sessions restored by a CONNECT with resume.
    public var relayUnknownSent: UInt64 = 0
    public var relayResumes: UInt64 = 0
    /// Sessions introduced with one side told to wait (`PunchOrder`: the pair's last sessions
    /// stayed relayed).
    public var orderedPunches: UInt64 = 0
    /// PATH_REPORTs counted into `punchOutcomes` (the first one of each session).
    public var pathReports: UInt64 = 0
    public private(set) var rejected: [RejectReason: UInt64] = [:]
    public internal(set) var punchOutcomes: [PunchOutcome: UInt64] = [:]

    public init() {}

    public subscript(reason: RejectReason) -> UInt64 { rejected[reason] ?? 0 }

    public var totalRejected: UInt64 { rejected.values.reduce(0, &+) }

    mutating func reject(_ reason: RejectReason) {
        rejected[reason, default: 0] &+= 1
        rejectedCount &+= 1
        lastRejected = reason
    }

    /// All rejections so far and the latest one's reason: the runner compares the count around
    /// each datagram to log what was rejected and from where (O(1), unlike `totalRejected`).
    public private(set) var rejectedCount: UInt64 = 0
    public private(set) var lastRejected: RejectReason?
}

/// What the server holds right now (read at scrape time).
public struct ServerGauges: Sendable, Equatable {
    /// Registered devices; nil when the registry cannot count by role.
    public var devicesOnline: Int?
    public var clientsOnline: Int?
    public var registrations: Int
    public var sessions: Int
    /// Sessions whose transport packets the server has relayed at least once.
    public var relaySessions: Int
    /// Sources the signaling rate limiter tracks.
    public var trackedSources: Int

    public init(
        devicesOnline: Int?, clientsOnline: Int?, registrations: Int, sessions: Int, relaySessions: Int,
        trackedSources: Int
    ) {
        self.devicesOnline = devicesOnline
        self.clientsOnline = clientsOnline
        self.registrations = registrations
        self.sessions = sessions
        self.relaySessions = relaySessions
        self.trackedSources = trackedSources
    }
}
