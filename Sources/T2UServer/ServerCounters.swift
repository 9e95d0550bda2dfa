/// Why the server dropped a datagram (exported as metrics later).
public enum RejectReason: String, Sendable, CaseIterable {
    case malformed
    case unknownType
    /// A signaling message only the server sends (CHALLENGE, REGISTERED, ...).
    case unexpectedMessage
    /// HELLO, PROBE or KEEPALIVE shorter than the padding rule requires.
    case unpadded
    case rateLimited
    case badCookie
    case serverKeyRejected
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

/// What the server did, for logs, tests and metrics.
public struct ServerCounters: Sendable, Equatable {
    public var datagramsReceived: UInt64 = 0
    public var signalingReplies: UInt64 = 0
    public var registrations: UInt64 = 0
    public var expirations: UInt64 = 0
    public var introductionsSent: UInt64 = 0
    /// CONNECTs for devices homed on other servers, passed on; and those taken from peers.
    public var peerIntroductionsSent: UInt64 = 0
    public var peerIntroductionsReceived: UInt64 = 0
    public var relayedPackets: UInt64 = 0
    public var relayedBytes: UInt64 = 0
    public private(set) var rejected: [RejectReason: UInt64] = [:]

    public init() {}

    public subscript(reason: RejectReason) -> UInt64 { rejected[reason] ?? 0 }

    public var totalRejected: UInt64 { rejected.values.reduce(0, &+) }

    mutating func reject(_ reason: RejectReason) { rejected[reason, default: 0] &+= 1 }
}
