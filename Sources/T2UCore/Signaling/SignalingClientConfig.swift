// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// What a `SignalingClient` registers and how patiently it retries.
package struct SignalingClientConfig: Sendable {
    package var role: SignalingRole
    /// Device UUID, or the client's instance ID (`DeviceUUID.isValid`).
    package var uuid: String
    /// Our X25519 key pair: REGISTER proves we hold its private key (the device's identity).
    package var identity: StaticIdentity
    package var publicKey: [UInt8] { identity.publicKey }
    /// Device extra parameters (<= 512 bytes), returned by queries.
    package var extra: [UInt8]
    /// LAN candidate addresses (<= 8).
    package var candidates: [NetAddress]
    /// The server's public key (`svrkey`, 32 bytes). nil: take the key the server states in
    /// CHALLENGE (encrypted but unauthenticated; the owner is told by `.unauthenticatedServer`).
    package var serverPublicKey: [UInt8]?
    /// A vendor certificate for closed enrollment, sent as is; nil: none.
    package var certificate: [UInt8]?
    /// The key this UUID was bound to before `identity` (key rotation): each REGISTER carries
    /// its proof (`KeyRotationProof`, bound to that CHALLENGE's cookie and server key); nil: none.
    package var rotatingFrom: StaticIdentity?
    package var server: NetAddress
    /// The server's second (observation) port, for PROBE; nil disables probing.
    package var observationServer: NetAddress?
    /// Other servers of the cloud, tried in turn (and `server` after them) when the current one
    /// stops answering; each one's observation port is taken as its main port + 1.
    package var fallbackServers: [NetAddress] = []
    /// HELLO/REGISTER sends left unanswered before moving to the next server (about 3.5 s
    /// with the default retransmission).
    package var failoverAfterSends = 3
    /// Probe the observation port after every registration and classify our NAT (`nat`);
    /// agents turn it on, protocol tests leave it off.
    package var classifiesNAT = false

    package var initialRetransmit: Nanos = .milliseconds(500)
    package var maxRetransmit: Nanos = .seconds(8)
    /// Upper bound on the keepalive period (the NAT binding must stay alive; DESIGN says < 25 s).
    package var maxKeepaliveInterval: Nanos = .seconds(20)
    /// Keepalive retransmissions without an answer before registering again.
    package var keepaliveRetries = 3
    /// How long a query/connect/probe may take before it fails with `.timeout`.
    package var requestTimeout: Nanos = .seconds(10)

    package init(
        role: SignalingRole, uuid: String, identity: StaticIdentity, extra: [UInt8] = [],
        candidates: [NetAddress] = [], serverPublicKey: [UInt8]? = nil, server: NetAddress,
        observationServer: NetAddress? = nil
    ) {
        self.role = role
        self.uuid = uuid
        self.identity = identity
        self.extra = extra
        self.candidates = candidates
        self.serverPublicKey = serverPublicKey
        self.server = server
        self.observationServer = observationServer
    }

    package enum Invalid: Error, Equatable, Sendable {
        case uuidLength, publicKeyLength, extraTooLong, tooManyCandidates, serverPublicKey, certificateTooLong
    }

    /// Checks the wire bounds, so encoding never truncates.
    package func validate() throws(Invalid) {
        guard DeviceUUID.isValid(uuid) else { throw .uuidLength }
        if let serverPublicKey, serverPublicKey.count != SignalingLimits.publicKeyLength { throw .serverPublicKey }
        if let certificate, certificate.isEmpty || certificate.count > SignalingLimits.maxCertificateLength {
            throw .certificateTooLong
        }
        guard extra.count <= SignalingLimits.maxExtraLength else { throw .extraTooLong }
        guard candidates.count <= SignalingLimits.maxCandidates else { throw .tooManyCandidates }
    }
}
