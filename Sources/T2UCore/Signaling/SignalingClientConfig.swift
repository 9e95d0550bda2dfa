/// What a `SignalingClient` registers and how patiently it retries.
public struct SignalingClientConfig: Sendable {
    public var role: SignalingRole
    /// Device UUID, or the client's instance ID (1...64 UTF-8 bytes).
    public var uuid: String
    /// X25519 public key (32 bytes; a client may leave zeros).
    public var publicKey: [UInt8]
    /// Device extra parameters (<= 512 bytes), returned by queries.
    public var extra: [UInt8]
    /// LAN candidate addresses (<= 8).
    public var candidates: [NetAddress]
    /// The server key; nil when the server has none.
    public var serverKey: String?
    public var server: NetAddress
    /// The server's second (observation) port, for PROBE; nil disables probing.
    public var observationServer: NetAddress?
    /// Other servers of the cloud, tried in turn (and `server` after them) when the current one
    /// stops answering; each one's observation port is taken as its main port + 1.
    public var fallbackServers: [NetAddress] = []
    /// HELLO/REGISTER sends left unanswered before moving to the next server (about 3.5 s
    /// with the default retransmission).
    public var failoverAfterSends = 3
    /// Probe the observation port after every registration and classify our NAT (`nat`);
    /// agents turn it on, protocol tests leave it off.
    public var classifiesNAT = false

    public var initialRetransmit: Nanos = .milliseconds(500)
    public var maxRetransmit: Nanos = .seconds(8)
    /// Upper bound on the keepalive period (the NAT binding must stay alive; DESIGN says < 25 s).
    public var maxKeepaliveInterval: Nanos = .seconds(20)
    /// Keepalive retransmissions without an answer before registering again.
    public var keepaliveRetries = 3
    /// How long a query/connect/probe may take before it fails with `.timeout`.
    public var requestTimeout: Nanos = .seconds(10)

    public init(role: SignalingRole, uuid: String, publicKey: [UInt8] = [UInt8](repeating: 0, count: 32), extra: [UInt8] = [],
                candidates: [NetAddress] = [], serverKey: String? = nil, server: NetAddress, observationServer: NetAddress? = nil) {
        self.role = role
        self.uuid = uuid
        self.publicKey = publicKey
        self.extra = extra
        self.candidates = candidates
        self.serverKey = serverKey
        self.server = server
        self.observationServer = observationServer
    }

    public enum Invalid: Error, Equatable, Sendable {
        case uuidLength, publicKeyLength, extraTooLong, tooManyCandidates
    }

    /// Checks the wire bounds, so encoding never truncates.
    public func validate() throws(Invalid) {
        let uuidLength = uuid.utf8.count
        guard uuidLength >= 1, uuidLength <= SignalingLimits.maxUUIDLength else { throw .uuidLength }
        guard publicKey.count == SignalingLimits.publicKeyLength else { throw .publicKeyLength }
        guard extra.count <= SignalingLimits.maxExtraLength else { throw .extraTooLong }
        guard candidates.count <= SignalingLimits.maxCandidates else { throw .tooManyCandidates }
    }
}
