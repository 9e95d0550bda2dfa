// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore

/// One end-to-end encrypted, reliable, congestion-controlled connection over UDP datagrams,
/// carrying many independent streams. Sans-IO: the owner feeds datagrams and time in, and
/// takes datagrams, events and the next deadline out. Not thread-safe: one owner drives it.
package final class Connection {
    package enum State: Equatable, Sendable { case handshaking, established, closing, closed }
    package enum Role: Sendable { case initiator, responder }

    package let role: Role
    /// The ID peers write into packets addressed to us.
    package let localConnectionID: ConnectionID
    package internal(set) var state: State = .handshaking
    /// Where we currently send.
    package internal(set) var peerAddress: NetAddress
    /// The paths this connection may use (set by the initiator's owner before the first send).
    package internal(set) var pathPolicy: PathPolicy = .any
    /// The peer's static public key (pinned by the initiator, learned by the responder).
    package internal(set) var peerStaticKey: [UInt8]
    package internal(set) var stats = ConnectionStats()
    /// The handshake's round trip, known once established (setup time for `OnConnect`).
    package internal(set) var handshakeDuration: Nanos?

    let config: TransportConfig
    let entropy: EntropySource
    let createdAt: Instant
    /// Latest time seen through any entry point (for calls that take no `now`, e.g. `read`).
    var lastNow: Instant

    /// Handshake-only state (`.done` from the start when there is none to run).
    var handshake = HandshakePhase.done

    // Packet protection
    /// The ID the peer receives on (ours to write in packets); 0 until the handshake names it.
    package internal(set) var remoteConnectionID = ConnectionID(rawValue: 0)
    /// The keys the handshake agreed: set by `establish`, so every established or closing
    /// connection has them.
    var protection: PacketProtection?
    var nextPacketNumber: PacketNumber = 0
    var replayWindow = ReplayWindow()
    var largestReceivedPacketNumber: PacketNumber?
    /// Newest packet that carried more than probing frames: only such a packet moves the peer.
    var largestNonProbingPacketNumber: PacketNumber?
    /// Packets sent and received since the last key update (the initiator starts a KEY_UPDATE
    /// exchange at `config.keyUpdatePackets`).
    var packetsSinceKeyUpdate: UInt64 = 0
    var lastKeyUpdate: Instant
    var keyExchange = KeyExchange()

    // Reliability
    var recovery: LossRecovery<[SentFrame]>
    var ackTracker: AckTracker
    var probesPending = 0

    // Streams and flow control
    var streams: [StreamID: StreamState] = [:]
    var scheduler = StreamScheduler()
    var flow: ConnectionFlowControl
    var peerParameters: TransportParameters?
    var nextLocalStreamIndex: UInt64 = 0
    var localStreamLimit: UInt64 = 0
    var nextPeerStreamIndex: UInt64 = 0
    /// Cumulative count of streams the peer may open (what MAX_STREAMS says).
    var peerStreamLimit: UInt64
    var peerStreamsClosed: UInt64 = 0
    /// Where send buffer and receive window growth comes from: the endpoint's (process-wide)
    /// budget once registered there, unbounded for a connection on its own.
    var bufferBudget = BufferBudget(limit: .max)
    /// Growth held now: all streams' send buffers, and the connection receive window.
    var sendBufferGrowth = 0
    var receiveWindowGrowth = 0

    // Control frames waiting for a packet
    var maxDataPending = false
    var maxStreamsPending = false
    var maxStreamDataPending: Set<StreamID> = []
    /// DATA_BLOCKED / STREAM_DATA_BLOCKED to send: the limit we wait at (see `reportBlocked`).
    var dataBlockedPending: UInt64?
    var streamDataBlockedPending: [StreamID: UInt64] = [:]
    /// The connection limit last reported blocked (reported once per limit).
    var dataBlockedReported: UInt64?
    var resetsPending: [(StreamID, UInt64, UInt64)] = []
    /// Streams we reset before knowing the peer's final size: the highest offset counted
    /// against our connection window so far (`settleResetStream`). Bounded; a peer that never
    /// answers a reset (older versions) leaves at most this many records.
    var resetsAwaitingFinalSize: [StreamID: UInt64] = [:]
    static let maxResetsAwaitingFinalSize = 1024
    var pathResponsesPending: [(NetAddress, UInt64)] = []
    var pingPending = false
    var closeFramePending: (code: UInt64, reason: String)?

    // Paths
    var pathValidator = PathValidator()
    /// The path `migrate` left: the peer keeps sending there until it sees us on the new one,
    /// so its packets from there must not pull us back.
    var abandonedAddress: NetAddress?
    /// Probes the owner asked for (`probePath`), independent of `pathValidator`.
    var pathProber = PathProber()
    /// Probes and data packets alternate when both wait, so a spray never starves data.
    var probeTurn = true
    /// Where to fail over to when the current path goes silent (`setFallback`), and the path
    /// that failed (probed until it answers again).
    var fallbackAddress: NetAddress?
    var failedPathAddress: NetAddress?
    var failedOverAt: Instant?
    /// The newest packet from the peer was ack-eliciting (it is sending to us): its silence
    /// deserves a probe, as a receiver that only ACKs would never notice its path die
    /// (`silenceProbeDeadline`).
    var peerWasSending = false
    /// Last address that answered a challenge (or the handshake): fallback if a migration fails.
    var validatedAddress: NetAddress
    /// Set while `peerAddress` is a new address not validated yet (3x limit, RFC 9000 §8).
    var amplificationLimit: AmplificationLimit?

    /// Whether a full packet to `peerAddress` would exceed the unvalidated path's 3x budget.
    var peerAmplificationBlocked: Bool {
        guard let limit = amplificationLimit, limit.address == peerAddress else { return false }
        return !limit.allows(config.maxDatagramSize)
    }

    /// Largest PATH_CHALLENGE packet (header, challenge, ping, tag), for the 3x budget.
    static let challengePacketSize = DataPacketHeader.length + 9 + 1 + PacketProtection.tagLength

    /// Whether the pending challenge to an unvalidated address would exceed its 3x budget.
    var challengeBlockedByAmplification: Bool {
        guard let limit = amplificationLimit, pathValidator.attempt?.address == limit.address else { return false }
        return !limit.allows(Self.challengePacketSize)
    }

    // Timers
    var lastReceiveTime: Instant
    var lastSendTime: Instant
    /// First ack-eliciting packet sent since the peer was last heard from (dead-peer rule).
    var unansweredSince: Instant?
    /// The datagram `pollTransmit` wrote last is ack-eliciting or a handshake (false: only
    /// ACKs or a close, which nothing answers).
    package internal(set) var lastTransmitAwaitsAnswer = true
    var idleTimeout: Nanos
    var drainUntil: Instant?

    // Events
    var events: [ConnectionEvent] = []
    var eventReadIndex = 0

    /// Initiator: starts a handshake to `peerAddress`, pinned to the responder's static key.
    /// `password` is mixed into the handshake as a pre-shared key (nil: none). `timestamp` is
    /// the wall clock, strictly increasing per identity (`TransportEndpoint.connect` makes it).
    /// `localConnectionID`: one chosen earlier (a CONNECT named it before the key was known).
    package convenience init(
        config: TransportConfig,
        identity: StaticIdentity,
        remoteStaticKey: [UInt8],
        password: [UInt8]?,
        peerAddress: NetAddress,
        timestamp: Tai64N,
        entropy: EntropySource,
        now: Instant,
        localConnectionID: ConnectionID? = nil
    ) {
        self.init(
            role: .initiator, localConnectionID: localConnectionID ?? .random(entropy), config: config,
            peerAddress: peerAddress,
            peerStaticKey: remoteStaticKey, entropy: entropy, now: now)
        do {
            let initiator = try HandshakeInitiator(
                identity: identity, responderStaticKey: remoteStaticKey, password: password,
                localConnectionID: self.localConnectionID, payload: TransportParameters(config: config).encoded(),
                timestamp: timestamp, entropy: entropy)
            handshake = .initiating(
                .init(
                    initiator: initiator, initialRtt: config.initialRtt,
                    now: now))
        } catch {
            state = .closed
            emit(.closed(.handshakeFailed("the device key is unusable: \(error)")))
        }
    }

    /// Responder side, built by `TransportEndpoint` once the initiation authenticated.
    convenience init(
        acceptedWith keys: SessionKeys,
        reply: [UInt8],
        localConnectionID: ConnectionID,
        peerConnectionID: ConnectionID,
        peerStaticKey: [UInt8],
        peerPayload: [UInt8],
        config: TransportConfig,
        peerAddress: NetAddress,
        entropy: EntropySource,
        now: Instant
    ) throws(WireError) {
        self.init(
            role: .responder, localConnectionID: localConnectionID, config: config, peerAddress: peerAddress,
            peerStaticKey: peerStaticKey, entropy: entropy, now: now)
        let parameters = try TransportParameters.decode(peerPayload)
        remoteConnectionID = peerConnectionID
        handshake = .replying(.init(reply: reply))
        establish(keys: keys, peer: parameters, now: now)
    }

    private init(
        role: Role, localConnectionID: ConnectionID, config: TransportConfig, peerAddress: NetAddress,
        peerStaticKey: [UInt8], entropy: EntropySource, now: Instant
    ) {
        self.role = role
        self.localConnectionID = localConnectionID
        self.config = config
        self.entropy = entropy
        self.peerAddress = peerAddress
        self.validatedAddress = peerAddress
        self.peerStaticKey = peerStaticKey
        self.createdAt = now
        self.lastNow = now
        self.lastKeyUpdate = now
        self.lastReceiveTime = now
        self.lastSendTime = now
        self.idleTimeout = config.idleTimeout
        var recoveryConfig = RecoveryConfig(
            maxDatagramSize: config.maxDatagramSize, initialRtt: config.initialRtt, maxAckDelay: config.maxAckDelay,
            congestionControl: config.congestionControl, pacing: config.pacing)
        recoveryConfig.congestionControllerFactory = config.congestionControllerFactory
        self.recovery = LossRecovery(config: recoveryConfig)
        self.ackTracker = AckTracker(maxAckDelay: config.maxAckDelay)
        self.flow = ConnectionFlowControl(
            initialLocalWindow: config.initialConnectionWindow,
            maxLocalWindow: config.maxConnectionWindow, initialPeerMaxData: 0)
        self.peerStreamLimit = UInt64(config.maxConcurrentStreams)
    }

    deinit {
        bufferBudget.release(sendBufferGrowth + receiveWindowGrowth)
    }

    /// Keys agreed: data may flow. Applies the peer's limits.
    func establish(keys: SessionKeys, peer: TransportParameters, now: Instant) {
        protection = PacketProtection(keys: keys)
        peerParameters = peer
        flow.updatePeerMaxData(peer.initialMaxData)
        localStreamLimit = peer.initialMaxStreams
        if peer.idleTimeoutMillis > 0 {
            idleTimeout = min(idleTimeout, .milliseconds(Int64(min(peer.idleTimeoutMillis, 86_400_000))))
        }
        state = .established
        lastKeyUpdate = now
        handshakeDuration = now - createdAt
        stats.congestionWindow = recovery.congestionWindow
        emit(.handshakeCompleted)
    }

    // MARK: events

    package func pollEvent() -> ConnectionEvent? {
        guard eventReadIndex < events.count else { return nil }
        let event = events[eventReadIndex]
        eventReadIndex += 1
        if eventReadIndex == events.count {
            events.removeAll(keepingCapacity: true)
            eventReadIndex = 0
        }
        if case .streamReadable(let id) = event { streams[id]?.readableSignalled = false }
        return event
    }

    func emit(_ event: ConnectionEvent) {
        events.append(event)
    }

    func signalReadable(_ id: StreamID) {
        guard let stream = streams[id], !stream.readableSignalled else { return }
        stream.readableSignalled = true
        emit(.streamReadable(id))
    }

    // MARK: closing

    /// Closes the connection: a CLOSE frame goes to the peer, then the state drains.
    package func close(errorCode: UInt64, reason: String, now: Instant) {
        lastNow = now
        switch state {
        case .closed, .closing: return
        case .handshaking:
            enterClosed(.local(errorCode: errorCode))
        case .established:
            closeFramePending = (errorCode, reason)  // the codec cuts it to 255 bytes
            state = .closing
            drainUntil = now + recovery.rtt.probeTimeout(maxAckDelay: config.maxAckDelay) * 3
            emit(.closed(.local(errorCode: errorCode)))
        }
    }

    /// Closes because the peer broke the protocol; tells the peer why.
    func closeForViolation(_ code: TransportErrorCode, _ why: String, now: Instant) {
        guard state == .established else { return }
        closeFramePending = (code.rawValue, why)
        state = .closing
        drainUntil = now + recovery.rtt.probeTimeout(maxAckDelay: config.maxAckDelay) * 3
        emit(.closed(.protocolViolation(why)))
    }

    /// Ends at once (idle timeout, handshake failure, peer's CLOSE): nothing more is sent.
    func enterClosed(_ reason: ConnectionCloseReason) {
        guard state != .closed else { return }
        let wasClosing = state == .closing
        discardState()
        if !wasClosing { emit(.closed(reason)) }
    }

    /// Closed: nothing of the handshake, the packets in flight or the streams is kept.
    func discardState() {
        state = .closed
        handshake = .done
        _ = recovery.discardAll()
        releaseAllBuffers()
        streams.removeAll()
    }
}
