// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// First byte of a signaling datagram (range 0x20-0x5F of `PacketType`'s plan). Requests carry
/// a request ID that the reply echoes; trailing bytes after a message's fields are padding.
public enum SignalingMessageType: UInt8, Sendable, CaseIterable {
    case hello = 0x20
    case challenge = 0x21
    /// REGISTER with role `.device`, or LOGIN with role `.client`.
    case register = 0x22
    case registered = 0x23
    case error = 0x24
    case keepalive = 0x25
    case keepaliveAck = 0x26
    case query = 0x27
    case queryResult = 0x28
    case connect = 0x29
    case connectResult = 0x2A
    case introduce = 0x2B
    case introduceAck = 0x2C
    case probe = 0x2D
    case probeResult = 0x2E
    case search = 0x2F
    case searchReply = 0x30
    /// Client -> server, fire-and-forget: which path a session ended up on (operator metrics).
    case pathReport = 0x31
    /// Server -> agent, unsolicited: a relayed transport packet named a connection ID the
    /// server has no session for (it restarted). Never larger than the packet that caused it.
    case relayUnknown = 0x32
    /// A signaling message sealed under the channel keys of a registration.
    case sealed = 0x33

    /// First bytes reserved for signaling; everything else on the socket is transport or probes.
    public static let reservedRange: ClosedRange<UInt8> = 0x20...0x5F
}

/// Which path a client's session to a device settled on, as reported in PATH_REPORT.
public enum SignalingPathKind: UInt8, Sendable, Hashable, CaseIterable {
    /// Direct to a LAN candidate of the device.
    case lan = 1
    /// Direct to the device's reflexive (public) address: hole punching worked.
    case direct = 2
    /// Through the server's relay.
    case relay = 3
    /// No path at all.
    case failed = 4

    /// The metrics label (`path="..."`).
    public var label: String {
        switch self {
        case .lan: "lan"
        case .direct: "direct"
        case .relay: "relay"
        case .failed: "failed"
        }
    }
}

/// Who registers: a device agent (reachable by UUID) or a client (only asks and connects).
public enum SignalingRole: UInt8, Sendable, Hashable {
    case device = 1
    case client = 2
}

/// Error codes in ERROR replies. A struct, not an enum, so unknown future codes still parse.
public struct SignalingErrorCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// The REGISTER was not encrypted to this server's key (`t2u_status` -2).
    public static let serverKeyRejected = SignalingErrorCode(rawValue: 1)
    public static let malformed = SignalingErrorCode(rawValue: 2)
    public static let rateLimited = SignalingErrorCode(rawValue: 3)
    /// The session token is unknown (expired, or the server restarted): register again.
    public static let unknownSession = SignalingErrorCode(rawValue: 4)
    /// The cookie is stale or was made for another address: start again with HELLO.
    public static let badCookie = SignalingErrorCode(rawValue: 5)
    /// CONNECT to a device that is not registered.
    public static let deviceOffline = SignalingErrorCode(rawValue: 6)
    /// The server cannot take more registrations or sessions.
    public static let capacity = SignalingErrorCode(rawValue: 7)
    /// REGISTER for a UUID bound to another device key (docs/SECURITY.md §1).
    public static let identityConflict = SignalingErrorCode(rawValue: 8)
    /// Closed enrollment: no valid vendor certificate for this UUID and key.
    public static let notEnrolled = SignalingErrorCode(rawValue: 9)

    public var description: String {
        switch self {
        case .serverKeyRejected: "serverKeyRejected"
        case .malformed: "malformed"
        case .rateLimited: "rateLimited"
        case .unknownSession: "unknownSession"
        case .badCookie: "badCookie"
        case .deviceOffline: "deviceOffline"
        case .capacity: "capacity"
        case .identityConflict: "identityConflict"
        case .notEnrolled: "notEnrolled"
        default: "error(\(rawValue))"
        }
    }
}

/// Typed failure of parsing a signaling datagram; the receiver counts and drops it.
public enum SignalingParseError: Error, Equatable, Sendable {
    case truncated(String)
    case unknownMessageType(UInt8)
    /// Well-formed bytes with an impossible value (bad length, unknown enum value).
    case invalid(String)
}

/// Sizes and bounds of the signaling protocol.
public enum SignalingLimits {
    public static let maxUUIDLength = 64
    public static let publicKeyLength = 32
    /// Poly1305 tag of every AEAD field.
    public static let tagLength = 16
    /// REGISTER's clear header (type requestID role cookie), mixed into the handshake hash.
    public static let registerHeaderLength = 26
    /// SEALED's clear header (type channel counter): the AEAD's associated data.
    public static let sealedHeaderLength = 17
    /// Encrypted payloads (REGISTER, REGISTERED, SEALED) are at most this long.
    public static let maxEncryptedLength = 1400
    /// Certificate bytes in a registration (opaque here; the identity module parses them).
    public static let maxCertificateLength = 512
    /// A key rotation proof: the old public key (32) and its proof (32).
    public static let rotationLength = 64
    public static let maxExtraLength = 512
    public static let maxCandidates = 8
    public static let cookieLength = 20
    /// Unverified-source requests (HELLO, PROBE, KEEPALIVE) are padded to at least this many
    /// bytes, so their replies are never larger (no amplification).
    public static let minPaddedRequest = 64
    /// SEARCH is padded to at least this many bytes and devices ignore shorter ones: the
    /// largest SEARCH_REPLY (64-byte UUID, IPv6 address) is 89 bytes, so an answer is never
    /// larger than the question (docs/SECURITY.md §4).
    public static let minSearchRequest = 96
}
