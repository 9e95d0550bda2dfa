// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore

/// All transport connections of one UDP socket: routes datagrams by connection ID, accepts
/// handshakes as responder, and multiplexes transmissions. Sans-IO like `Connection`.
package final class TransportEndpoint {
    package struct Options: Sendable {
        package var config: TransportConfig
        package var identity: StaticIdentity
        /// Accept incoming handshakes (device side). The password, if any, is required of peers.
        package var acceptIncoming: Bool
        /// The device password's derived keys (the password itself is not kept).
        package var passwordVerifier: PasswordVerifier?
        /// New handshakes answered per second (each costs four X25519 operations); a burst of
        /// this many is allowed. Repeats of a known initiation do not count. Sources that have
        /// not proven their address (no valid mac2) get at most half; beyond that they are
        /// answered with a cookie.
        package var handshakesPerSecond: Double = 200
        /// New handshakes per second per source /24 (IPv4) or /64 (IPv6), burst twice this.
        package var handshakesPerSourcePrefixPerSecond: Double = 20
        /// Source prefixes whose budgets are tracked (least recently seen forgotten first).
        package var sourcePrefixTableCapacity = 4096
        /// Bytes by which send buffers and connection receive windows of all connections
        /// together may grow above their initial sizes (`TransportConfig`): the process-wide
        /// bound on buffering (one endpoint per process in t2u and t2usvr).
        package var bufferBudget = 256 * 1024 * 1024
        package init(config: TransportConfig, identity: StaticIdentity, acceptIncoming: Bool, password: [UInt8]? = nil)
        {
            self.config = config
            self.identity = identity
            self.acceptIncoming = acceptIncoming
            self.passwordVerifier = password.map { PasswordVerifier(password: $0, devicePublicKey: identity.publicKey) }
        }
    }

    /// As created, but for `passwordVerifier` after `update(password:)`.
    package private(set) var options: Options
    private let entropy: EntropySource
    private var byLocalID: [ConnectionID: Connection] = [:]
    /// Responder connections by the initiator's ID, so a repeated initiation finds its connection.
    private var byInitiatorID: [ConnectionID: Connection] = [:]
    private var ordered: [Connection] = []
    private var nextToPoll = 0
    private var accepted: [Connection] = []
    /// Rejections and cookie replies to send (no connection is kept for them).
    private var pendingReplies: [(NetAddress, [UInt8])] = []
    static let maxPendingReplies = 1024
    package private(set) var droppedDatagrams: UInt64 = 0
    /// Initiations refused by the global or a source prefix's budget.
    package private(set) var handshakesRateLimited: UInt64 = 0
    /// Initiation-sized datagrams without a valid mac1 (junk, or senders not told our key).
    package private(set) var initiationsFailingMac1: UInt64 = 0
    /// COOKIE_REPLYs sent (under load, to initiations without a valid mac2).
    package private(set) var cookieRepliesSent: UInt64 = 0
    /// Initiations refused as replays (timestamp not newer than one accepted from that key).
    package private(set) var initiationsReplayed: UInt64 = 0
    private let macKeys: HandshakeMacKeys
    private var admission: HandshakeAdmission
    private var replayGuard = InitiationReplayGuard()
    /// Shared by every connection of this endpoint (`Options.bufferBudget`).
    package let bufferBudget: BufferBudget

    /// Unix time in nanoseconds at `Instant.zero` of the clock `now` comes from. The shell sets
    /// it (EndpointDriver); initiation timestamps are this plus `now`, made strictly increasing.
    package var wallClockOrigin: Int64 = 0
    private var lastTimestamp: Tai64N?

    package init(options: Options, entropy: EntropySource) {
        self.options = options
        self.entropy = entropy
        self.macKeys = HandshakeMacKeys(responderStatic: options.identity.publicKey)
        self.bufferBudget = BufferBudget(limit: options.bufferBudget)
        self.admission = HandshakeAdmission(
            limits: .init(
                handshakesPerSecond: options.handshakesPerSecond,
                perPrefixPerSecond: options.handshakesPerSourcePrefixPerSecond,
                prefixTableCapacity: options.sourcePrefixTableCapacity))
    }

    /// The device password from now on: handshakes answered after this require it, connections
    /// already established keep their keys. Not optional: an update cannot turn the password
    /// off (fail closed; a device without one is started without one).
    package func update(password: [UInt8]) {
        options.passwordVerifier = PasswordVerifier(password: password, devicePublicKey: options.identity.publicKey)
    }

    /// A connection ID no connection of ours uses: for a connection started later with
    /// `connect(localConnectionID:)` (the server must learn the ID before the handshake goes out).
    package func unusedConnectionID() -> ConnectionID {
        var id = ConnectionID.random(entropy)
        while byLocalID[id] != nil { id = .random(entropy) }
        return id
    }

    /// Starts a connection as initiator. `localConnectionID`: from `unusedConnectionID()`
    /// (nil: a new random one).
    package func connect(
        to address: NetAddress, remoteStaticKey: [UInt8], password: [UInt8]?, pathPolicy: PathPolicy = .any,
        localConnectionID: ConnectionID? = nil, now: Instant
    ) -> Connection {
        var timestamp = Tai64N(unixNanoseconds: wallClockOrigin &+ now.nanoseconds)
        if let last = lastTimestamp, timestamp <= last { timestamp = last.successor }
        lastTimestamp = timestamp
        var id = localConnectionID ?? unusedConnectionID()
        if byLocalID[id] != nil { id = unusedConnectionID() }  // taken meanwhile: a 2^-64 event
        let connection = Connection(
            config: options.config, identity: options.identity, remoteStaticKey: remoteStaticKey,
            password: password, peerAddress: address, timestamp: timestamp, entropy: entropy, now: now,
            localConnectionID: id)
        connection.pathPolicy = pathPolicy
        register(connection)
        return connection
    }

    /// Routes a datagram; returns the connection it belonged to (nil: dropped, or a reply such
    /// as a rejection was queued). New incoming connections are reported by `pollAccepted`.
    @discardableResult
    package func receive(_ datagram: ByteBuffer, from address: NetAddress, now: Instant) -> Connection? {
        guard let first = datagram.getInteger(at: datagram.readerIndex, as: UInt8.self),
            let type = PacketType.classify(first)
        else {
            droppedDatagrams &+= 1
            return nil
        }
        let target: Connection?
        switch type {
        case .dataKeyPhase0, .dataKeyPhase1:
            target = (try? DataPacketHeader.parse(datagram)).flatMap { byLocalID[$0.destinationConnectionID] }
        case .handshakeResponse, .handshakeRejection:
            target = (try? HandshakeResponder.replyDestination(datagram)).flatMap { byLocalID[$0] }
        case .cookieReply:
            target = (try? CookieReply.destination(datagram)).flatMap { byLocalID[$0] }
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

    /// mac1 first (one HMAC: junk costs nothing more and gets no reply), then a retransmission
    /// of a known initiation, then the budgets and cookies, and only then the DH.
    private func acceptInitiation(_ datagram: ByteBuffer, from address: NetAddress, now: Instant) -> Connection? {
        guard options.acceptIncoming, let summary = try? HandshakeResponder.summarize(datagram) else {
            droppedDatagrams &+= 1
            return nil
        }
        guard macKeys.hasValidMac1(datagram) else {
            initiationsFailingMac1 &+= 1
            return nil
        }
        if let existing = byInitiatorID[summary.initiatorConnectionID] {
            existing.receive(datagram, from: address, now: now)
            return existing
        }
        switch admission.decide(datagram, from: address, now: now, entropy: entropy) {
        case .admit:
            break
        case .rateLimited:
            handshakesRateLimited &+= 1
            return nil
        case .sendCookie(let cookie):
            let mac1 =
                datagram.getBytes(
                    at: datagram.readerIndex + HandshakeLayout.initiationMac1Offset, length: HandshakeMacKeys.macLength)
                ?? []
            let reply = CookieReply.seal(
                cookie: cookie, initiatorConnectionID: summary.initiatorConnectionID, mac1: mac1,
                keys: macKeys, nonce: entropy.bytes(12))
            if queueReply(reply, to: address) { cookieRepliesSent &+= 1 }
            return nil
        }
        let localID = ConnectionID.random(entropy)
        let outcome: ResponderOutcome
        do {
            outcome = try HandshakeResponder.respond(
                to: datagram, identity: options.identity, verifier: options.passwordVerifier,
                localConnectionID: localID,
                payload: TransportParameters(config: options.config).encoded(), entropy: entropy,
                isFresh: { key, timestamp in replayGuard.accept(timestamp, from: key) })
        } catch .replayed {
            initiationsReplayed &+= 1
            return nil
        } catch {
            droppedDatagrams &+= 1
            return nil
        }
        switch outcome {
        case .rejected(let reply, _, _):
            queueReply(reply, to: address)
            return nil
        case .accepted(let response, let keys, let peerID, let peerStaticKey, let peerPayload):
            guard
                let connection = try? Connection(
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

    @discardableResult
    private func queueReply(_ reply: [UInt8], to address: NetAddress) -> Bool {
        guard pendingReplies.count < Self.maxPendingReplies else { return false }
        pendingReplies.append((address, reply))
        return true
    }

    private func register(_ connection: Connection) {
        connection.bufferBudget = bufferBudget
        byLocalID[connection.localConnectionID] = connection
        ordered.append(connection)
    }

    package func pollAccepted() -> Connection? {
        accepted.isEmpty ? nil : accepted.removeFirst()
    }

    /// Whether the datagram `pollTransmit` returned last may be answered (false for pure ACKs:
    /// the shell need not read sooner for them, see `ReceiveCoalescing`).
    package private(set) var lastTransmitAwaitsAnswer = true

    /// Next datagram of any connection (fair round robin), or nil.
    package func pollTransmit(now: Instant, into buffer: inout ByteBuffer) -> NetAddress? {
        lastTransmitAwaitsAnswer = true
        if let (address, reply) = pendingReplies.first {
            pendingReplies.removeFirst()  // bounded: at most `maxPendingReplies` moves
            buffer.clear()
            buffer.writeBytes(reply)
            return address
        }
        guard !ordered.isEmpty else { return nil }
        for step in 0..<ordered.count {
            let index = (nextToPoll + step) % ordered.count
            if let address = ordered[index].pollTransmit(now: now, into: &buffer) {
                lastTransmitAwaitsAnswer = ordered[index].lastTransmitAwaitsAnswer
                nextToPoll = (index + 1) % ordered.count
                return address
            }
        }
        return nil
    }

    package func nextDeadline() -> Instant? {
        if !pendingReplies.isEmpty { return .zero }
        var earliest: Instant?
        for connection in ordered {
            if let deadline = connection.nextDeadline() { earliest = min(earliest ?? deadline, deadline) }
        }
        return earliest
    }

    package func handleTimeout(now: Instant) {
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

    package var connections: [Connection] { ordered }
}
