// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore

/// One signaling datagram. Layout of every message: type(1) requestID(4), then the fields in
/// the order declared below; integers big endian; strings u8-length-prefixed UTF-8; extra
/// u16-length-prefixed; addresses family(1) ip(4|16) port(2); address lists count(1, <= 8).
/// Bytes after the last field are padding and ignored (requests from not-yet-verified sources
/// are padded to `SignalingLimits.minPaddedRequest`). Fields added later are appended and
/// optional: absent (an older sender) reads as the default; present, they are parsed strictly.
package enum SignalingMessage: Equatable, Sendable {
    /// First contact; the reply carries the stateless cookie needed by REGISTER.
    case hello(requestID: UInt32, role: SignalingRole)
    /// The cookie for REGISTER and the server's static public key (what `svrkey` pins).
    case challenge(requestID: UInt32, cookie: [UInt8], serverPublicKey: [UInt8])
    /// Noise IK message 1 (`SignalingRegistration`): agent -> server.
    case register(Register)
    /// Noise IK message 2: server -> agent; its payload is a `RegisteredPayload`.
    case registered(requestID: UInt32, ephemeral: [UInt8], encryptedPayload: [UInt8])
    /// A signaling message under the channel keys of a registration (`SealedChannel`).
    case sealed(Sealed)
    case error(requestID: UInt32, code: SignalingErrorCode)
    /// `nat` (appended field): our NAT behaviour once measured, so the server's record follows it.
    case keepalive(requestID: UInt32, token: UInt64, nat: NATBehavior = .unknown)
    case keepaliveAck(requestID: UInt32, observed: NetAddress)
    case query(requestID: UInt32, token: UInt64, uuid: String)
    case queryResult(QueryResult)
    case connect(Connect)
    case connectResult(ConnectResult)
    /// Server -> device: a client wants a session; retransmitted until INTRODUCE_ACK.
    case introduce(Introduce)
    case introduceAck(requestID: UInt32, token: UInt64, sessionID: UInt64)
    /// Sent to the server's second port: the reply tells which address that port saw.
    case probe(requestID: UInt32)
    /// PROBE (same type byte) with flag 0x01 as its first byte after the request ID (old
    /// encoders wrote a zero padding byte there): "answer from your other port". Sent to the main
    /// port from a socket that never wrote to the observation port, so whether the answer comes
    /// through tells the NAT's filtering. An old server ignores the flag and answers from the main
    /// port, which the prober tells apart from a filtered answer.
    case probeFromOtherPort(requestID: UInt32)
    case probeResult(requestID: UInt32, observed: NetAddress)
    /// LAN multicast discovery; `uuid` nil asks every device.
    case search(requestID: UInt32, uuid: String?)
    case searchReply(requestID: UInt32, uuid: String, address: NetAddress)
    /// Client -> server, not acknowledged: the path session `sessionID` settled on.
    case pathReport(requestID: UInt32, token: UInt64, sessionID: UInt64, path: SignalingPathKind)
    /// Server -> agent (requestID 0): no relay session for `connectionID`, the destination
    /// connection ID of a transport packet the agent sent through the relay.
    case relayUnknown(requestID: UInt32, connectionID: ConnectionID)

    /// REGISTER: type role cookie in clear (the 26 header bytes, bound into the handshake hash),
    /// then the IK fields. The registration itself (`RegistrationPayload`) is in `encryptedPayload`.
    package struct Register: Equatable, Sendable {
        package var requestID: UInt32
        package var role: SignalingRole
        package var cookie: [UInt8]
        /// The agent's ephemeral public key (32 bytes); a retransmission repeats it.
        package var ephemeral: [UInt8]
        /// The agent's static public key, encrypted (32 + 16 bytes).
        package var encryptedStatic: [UInt8]
        package var encryptedPayload: [UInt8]

        package init(
            requestID: UInt32, role: SignalingRole, cookie: [UInt8], ephemeral: [UInt8], encryptedStatic: [UInt8],
            encryptedPayload: [UInt8]
        ) {
            self.requestID = requestID
            self.role = role
            self.cookie = cookie
            self.ephemeral = ephemeral
            self.encryptedStatic = encryptedStatic
            self.encryptedPayload = encryptedPayload
        }
    }

    /// SEALED: channel(8) counter(8) | ChaCha20-Poly1305(inner message) + tag(16).
    package struct Sealed: Equatable, Sendable {
        package var channel: UInt64
        package var counter: UInt64
        package var ciphertext: [UInt8]

        package init(channel: UInt64, counter: UInt64, ciphertext: [UInt8]) {
            self.channel = channel
            self.counter = counter
            self.ciphertext = ciphertext
        }
    }

    package struct QueryResult: Equatable, Sendable {
        package var requestID: UInt32
        package var online: Bool
        /// The device's reflexive (public) address as the server sees it; nil when offline.
        package var publicAddress: NetAddress?
        package var publicKey: [UInt8]
        package var extra: [UInt8]

        package init(requestID: UInt32, online: Bool, publicAddress: NetAddress?, publicKey: [UInt8], extra: [UInt8]) {
            self.requestID = requestID
            self.online = online
            self.publicAddress = publicAddress
            self.publicKey = publicKey
            self.extra = extra
        }
    }

    package struct Connect: Equatable, Sendable {
        package var requestID: UInt32
        package var token: UInt64
        package var uuid: String
        /// The ID the device (and the relay) will write into packets for the client.
        package var clientConnectionID: ConnectionID
        package var candidates: [NetAddress]
        /// Appended field: the client's NAT behaviour (passed to the device in INTRODUCE).
        package var nat: NATBehavior
        /// Appended field (after `nat`): resume the relay session of an established connection
        /// whose device side receives on this ID (a restarted server lost it). Never zero.
        package var resumeDeviceConnectionID: ConnectionID?
        /// Appended after the resume ID (only with it): where the device was registered, so a
        /// server that does not know the device yet can nudge it (a RELAY_UNKNOWN) to register.
        package var resumeDeviceAddress: NetAddress?

        package init(
            requestID: UInt32, token: UInt64, uuid: String, clientConnectionID: ConnectionID, candidates: [NetAddress],
            nat: NATBehavior = .unknown, resumeDeviceConnectionID: ConnectionID? = nil,
            resumeDeviceAddress: NetAddress? = nil
        ) {
            self.nat = nat
            self.resumeDeviceConnectionID = resumeDeviceConnectionID
            self.resumeDeviceAddress = resumeDeviceAddress
            self.requestID = requestID
            self.token = token
            self.uuid = uuid
            self.clientConnectionID = clientConnectionID
            self.candidates = candidates
        }
    }

    package struct ConnectResult: Equatable, Sendable {
        package var requestID: UInt32
        package var online: Bool
        package var sessionID: UInt64
        package var devicePublicKey: [UInt8]
        /// Device candidates, its reflexive address first.
        package var deviceCandidates: [NetAddress]
        /// Whether the server relays this session's transport packets.
        package var relayAllowed: Bool
        /// Appended field: the device's NAT behaviour as it last reported it.
        package var deviceNAT: NATBehavior
        /// Appended field (u16 ms, written when not zero): how long the client waits before its
        /// first datagram to the device's addresses (`PunchOrder`).
        package var punchDelay: Nanos

        package init(
            requestID: UInt32, online: Bool, sessionID: UInt64, devicePublicKey: [UInt8],
            deviceCandidates: [NetAddress], relayAllowed: Bool, deviceNAT: NATBehavior = .unknown,
            punchDelay: Nanos = .zero
        ) {
            self.deviceNAT = deviceNAT
            self.punchDelay = punchDelay
            self.requestID = requestID
            self.online = online
            self.sessionID = sessionID
            self.devicePublicKey = devicePublicKey
            self.deviceCandidates = deviceCandidates
            self.relayAllowed = relayAllowed
        }
    }

    package struct Introduce: Equatable, Sendable {
        package var requestID: UInt32
        package var sessionID: UInt64
        package var clientConnectionID: ConnectionID
        /// The client's reflexive address as the server sees it.
        package var clientPublicAddress: NetAddress
        package var clientCandidates: [NetAddress]
        package var relayAllowed: Bool
        /// Appended field: the client's NAT behaviour from its CONNECT.
        package var clientNAT: NATBehavior
        /// Appended field (u16 ms, written when not zero): how long the device waits before its
        /// first punch (`PunchOrder`).
        package var punchDelay: Nanos

        package init(
            requestID: UInt32, sessionID: UInt64, clientConnectionID: ConnectionID, clientPublicAddress: NetAddress,
            clientCandidates: [NetAddress], relayAllowed: Bool, clientNAT: NATBehavior = .unknown,
            punchDelay: Nanos = .zero
        ) {
            self.clientNAT = clientNAT
            self.punchDelay = punchDelay
            self.requestID = requestID
            self.sessionID = sessionID
            self.clientConnectionID = clientConnectionID
            self.clientPublicAddress = clientPublicAddress
            self.clientCandidates = clientCandidates
            self.relayAllowed = relayAllowed
        }
    }

    package var type: SignalingMessageType {
        switch self {
        case .hello: .hello
        case .challenge: .challenge
        case .register: .register
        case .registered: .registered
        case .sealed: .sealed
        case .error: .error
        case .keepalive: .keepalive
        case .keepaliveAck: .keepaliveAck
        case .query: .query
        case .queryResult: .queryResult
        case .connect: .connect
        case .connectResult: .connectResult
        case .introduce: .introduce
        case .introduceAck: .introduceAck
        case .probe, .probeFromOtherPort: .probe
        case .probeResult: .probeResult
        case .search: .search
        case .searchReply: .searchReply
        case .pathReport: .pathReport
        case .relayUnknown: .relayUnknown
        }
    }

    package var requestID: UInt32 {
        switch self {
        case .hello(let id, _), .challenge(let id, _, _), .registered(let id, _, _), .error(let id, _),
            .keepalive(let id, _, _), .keepaliveAck(let id, _), .query(let id, _, _), .introduceAck(let id, _, _),
            .probe(let id), .probeFromOtherPort(let id), .probeResult(let id, _), .search(let id, _),
            .searchReply(let id, _, _),
            .pathReport(let id, _, _, _), .relayUnknown(let id, _):
            return id
        case .register(let m): return m.requestID
        case .sealed(let m): return UInt32(truncatingIfNeeded: m.channel)
        case .queryResult(let m): return m.requestID
        case .connect(let m): return m.requestID
        case .connectResult(let m): return m.requestID
        case .introduce(let m): return m.requestID
        }
    }

    /// Whether this message travels only inside SEALED once registered (and is refused bare).
    package var isChannelMessage: Bool {
        switch self {
        case .keepalive, .keepaliveAck, .query, .queryResult, .connect, .connectResult, .introduce, .introduceAck,
            .pathReport, .error:
            return true
        case .hello, .challenge, .register, .registered, .sealed, .probe, .probeFromOtherPort, .probeResult, .search,
            .searchReply, .relayUnknown:
            return false
        }
    }

    /// Whether the first byte of a datagram belongs to signaling.
    package static func isSignaling(firstByte: UInt8) -> Bool {
        SignalingMessageType.reservedRange.contains(firstByte)
    }
}
