import NIOCore

/// All transport connections of one UDP socket: routes datagrams by connection ID, accepts
/// handshakes as responder, and multiplexes transmissions. Sans-IO like `Connection`.
public final class TransportEndpoint {
    public struct Options: Sendable {
        public var config: TransportConfig
        public var identity: StaticIdentity
        /// Accept incoming handshakes (device side). The password, if any, is required of peers.
        public var acceptIncoming: Bool
        public var password: [UInt8]?
        /// New handshakes answered per second (each costs four X25519 operations); a burst of
        /// this many is allowed. Repeats of a known initiation do not count.
        public var handshakesPerSecond: Double = 200
        public init(config: TransportConfig, identity: StaticIdentity, acceptIncoming: Bool, password: [UInt8]? = nil) {
            self.config = config
            self.identity = identity
            self.acceptIncoming = acceptIncoming
            self.password = password
        }
    }

    public let options: Options
    private let entropy: EntropySource
    private var byLocalID: [ConnectionID: Connection] = [:]
    /// Responder connections by the initiator's ID, so a repeated initiation finds its connection.
    private var byInitiatorID: [ConnectionID: Connection] = [:]
    private var ordered: [Connection] = []
    private var nextToPoll = 0
    private var accepted: [Connection] = []
    /// Rejections to send (no connection is kept for a refused peer).
    private var pendingReplies: [(NetAddress, [UInt8])] = []
    public private(set) var droppedDatagrams: UInt64 = 0
    /// Initiations refused because `handshakesPerSecond` was exceeded.
    public private(set) var handshakesRateLimited: UInt64 = 0
    /// Created at the first initiation (the bucket runs on the caller's clock).
    private var handshakeBucket: TokenBucket?

    public init(options: Options, entropy: EntropySource) {
        self.options = options
        self.entropy = entropy
    }

    /// Starts a connection as initiator.
    public func connect(to address: NetAddress, remoteStaticKey: [UInt8], password: [UInt8]?, now: Instant) -> Connection {
        let connection = Connection(config: options.config, identity: options.identity, remoteStaticKey: remoteStaticKey,
                                    password: password, peerAddress: address, entropy: entropy, now: now)
        register(connection)
        return connection
    }

    /// Routes a datagram; returns the connection it belonged to (nil: dropped, or a reply such
    /// as a rejection was queued). New incoming connections are reported by `pollAccepted`.
    @discardableResult
    public func receive(_ datagram: ByteBuffer, from address: NetAddress, now: Instant) -> Connection? {
        guard let first = datagram.getInteger(at: datagram.readerIndex, as: UInt8.self),
              let type = PacketType.classify(first) else {
            droppedDatagrams &+= 1
            return nil
        }
        let target: Connection?
        switch type {
        case .dataKeyPhase0, .dataKeyPhase1:
            target = (try? DataPacketHeader.parse(datagram)).flatMap { byLocalID[$0.destinationConnectionID] }
        case .handshakeResponse, .handshakeRejection:
            target = (try? HandshakeResponder.replyDestination(datagram)).flatMap { byLocalID[$0] }
        case .handshakeInitiation:
            return acceptInitiation(datagram, from: address, now: now)
        }
        guard let connection = target else {
            droppedDatagrams &+= 1
            return nil
        }
        connection.receive(datagram, from: address, now: now)
        return connection
    }

    private func acceptInitiation(_ datagram: ByteBuffer, from address: NetAddress, now: Instant) -> Connection? {
        guard options.acceptIncoming, let summary = try? HandshakeResponder.summarize(datagram) else {
            droppedDatagrams &+= 1
            return nil
        }
        if let existing = byInitiatorID[summary.initiatorConnectionID] {
            existing.receive(datagram, from: address, now: now)
            return existing
        }
        guard takeHandshakeToken(now: now) else {
            handshakesRateLimited &+= 1
            return nil
        }
        let localID = ConnectionID.random(entropy)
        let outcome: ResponderOutcome
        do {
            outcome = try HandshakeResponder.respond(
                to: datagram, identity: options.identity, password: options.password, localConnectionID: localID,
                payload: TransportParameters(config: options.config).encoded(), entropy: entropy)
        } catch {
            droppedDatagrams &+= 1
            return nil
        }
        switch outcome {
        case .rejected(let reply, _, _):
            if pendingReplies.count < 64 { pendingReplies.append((address, reply)) }
            return nil
        case .accepted(let response, let keys, let peerID, let peerStaticKey, let peerPayload):
            guard let connection = try? Connection(
                acceptedWith: keys, reply: response, localConnectionID: localID, peerConnectionID: peerID,
                peerStaticKey: peerStaticKey, peerPayload: peerPayload, config: options.config,
                peerAddress: address, entropy: entropy, now: now)
            else {
                droppedDatagrams &+= 1
                return nil
            }
            register(connection)
            byInitiatorID[peerID] = connection
            accepted.append(connection)
            return connection
        }
    }

    /// Token bucket over new handshakes: bounds the CPU a flood of initiations can take.
    private func takeHandshakeToken(now: Instant) -> Bool {
        let rate = options.handshakesPerSecond
        var bucket = handshakeBucket ?? TokenBucket(rate: rate, burst: rate, now: now)
        defer { handshakeBucket = bucket }
        return bucket.take(now: now)
    }

    private func register(_ connection: Connection) {
        byLocalID[connection.localConnectionID] = connection
        ordered.append(connection)
    }

    public func pollAccepted() -> Connection? {
        accepted.isEmpty ? nil : accepted.removeFirst()
    }

    /// Next datagram of any connection (fair round robin), or nil.
    public func pollTransmit(now: Instant, into buffer: inout ByteBuffer) -> NetAddress? {
        if let (address, reply) = pendingReplies.first {
            pendingReplies.removeFirst()
            buffer.clear()
            buffer.writeBytes(reply)
            return address
        }
        guard !ordered.isEmpty else { return nil }
        for step in 0..<ordered.count {
            let index = (nextToPoll + step) % ordered.count
            if let address = ordered[index].pollTransmit(now: now, into: &buffer) {
                nextToPoll = (index + 1) % ordered.count
                return address
            }
        }
        return nil
    }

    public func nextDeadline() -> Instant? {
        if !pendingReplies.isEmpty { return .zero }
        var earliest: Instant?
        for connection in ordered {
            if let deadline = connection.nextDeadline() { earliest = min(earliest ?? deadline, deadline) }
        }
        return earliest
    }

    public func handleTimeout(now: Instant) {
        var anyClosed = false
        for connection in ordered {
            if let deadline = connection.nextDeadline(), deadline <= now { connection.handleTimeout(now: now) }
            if connection.state == .closed { anyClosed = true }
        }
        if anyClosed { removeClosed() }
    }

    /// Forgets closed connections (their owners may still hold them to read final events).
    private func removeClosed() {
        ordered.removeAll { $0.state == .closed }
        byLocalID = byLocalID.filter { $0.value.state != .closed }
        byInitiatorID = byInitiatorID.filter { $0.value.state != .closed }
        nextToPoll = 0
    }

    public var connections: [Connection] { ordered }
}
