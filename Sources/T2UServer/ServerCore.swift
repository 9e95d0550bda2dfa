// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import T2UCore

/// The server cloud's protocol logic, sans-IO: registration (cookie, then a Noise IK handshake to
/// the server's key that authenticates the agent's key; device UUIDs bound to keys by
/// `bindings`), a sealed signaling channel per registration,
/// presence with keepalive expiry, queries, introductions (INTRODUCE retransmitted until
/// acknowledged), NAT observation (PROBE on the second port) and relay of transport datagrams
/// between the two parties of a connect session, routed by connection ID.
///
/// Never answers a source that has not proven its address (cookie or live registration) with
/// more bytes than it sent; rate-limits signaling per source and relay per session; counts every
/// dropped datagram by reason. Not thread-safe: one owner (the NIO event loop) drives it.
package final class ServerCore {
    /// `internal(set)`: the runner fills in the advertised address once the port is bound.
    package internal(set) var config: ServerConfig
    package let registry: Registry
    /// UUID -> device key (docs/SECURITY.md §1).
    package let bindings: DeviceBindings
    package internal(set) var counters = ServerCounters()
    /// For the operator's log, taken by `pollActivity` after each input. Bounded: beyond
    /// `activityLimit` entries waiting, the rest is only counted in `activityDropped`.
    private var activity: [ServerActivity] = []
    package private(set) var activityDropped: UInt64 = 0
    static let activityLimit = 1024

    /// A class: the relay path mutates it in place per datagram, without copy-and-write-back.
    final class Session {
        let id: UInt64
        var clientUUID: String
        var deviceUUID: String
        var clientAddress: NetAddress
        var deviceAddress: NetAddress
        var clientCID: UInt64
        var deviceCID: UInt64?
        var introduce: SignalingMessage.Introduce
        var introduceAcked = false
        var introduceSends = 0
        var nextIntroduceAt: Instant
        var introduceInterval: Nanos
        var lastActivity: Instant
        var relayBudget: TokenBucket
        /// Whether the relay has forwarded a packet of this session (the relay-sessions gauge).
        var relayed = false
        var relayedBytes: UInt64 = 0
        /// Whether the client's PATH_REPORT was counted (one per session).
        var pathReported = false
        /// The device's home server when it is another one: `deviceAddress` is that server and
        /// it introduces the device (we send no INTRODUCE).
        var peerServerID: String?
        /// Who sends first toward the other (`PunchOrderPolicy`); the CONNECT answer carries the
        /// client's delay, the INTRODUCE the device's.
        var punchOrder: PunchOrder = .together

        init(
            id: UInt64, clientUUID: String, deviceUUID: String, clientAddress: NetAddress, deviceAddress: NetAddress,
            clientCID: UInt64, introduce: SignalingMessage.Introduce, now: Instant, introduceInterval: Nanos,
            relayBudget: TokenBucket
        ) {
            self.id = id
            self.clientUUID = clientUUID
            self.deviceUUID = deviceUUID
            self.clientAddress = clientAddress
            self.deviceAddress = deviceAddress
            self.clientCID = clientCID
            self.introduce = introduce
            self.nextIntroduceAt = now
            self.introduceInterval = introduceInterval
            self.lastActivity = now
            self.relayBudget = relayBudget
        }
    }

    private struct Outgoing {
        var datagram: ByteBuffer
        var transmit: ServerTransmit
    }

    let entropy: EntropySource
    private let cookie: ServerCookie
    var limiter: SourceRateLimiter
    /// Separate from `limiter`: relayed packets of a lost session must not starve the
    /// sender's own re-registration of its signaling budget.
    var relayUnknownLimiter: SourceRateLimiter
    /// Clients' REGISTERs without a cookie (a round trip saved at start) cost two DH operations
    /// each from a source not proven: all of them together get this budget, beyond which the
    /// cookie is required again (WireGuard takes handshakes without a cookie until under load).
    var cookielessRegistrations: TokenBucket
    var sessions: [UInt64: Session] = [:]
    var punchOrders = PunchOrderPolicy()
    /// Connection ID (client's or device's) -> session.
    var sessionByCID: [UInt64: UInt64] = [:]
    /// Signaling channels by ID (= the record's token), and by the REGISTER ephemeral that made
    /// them (retransmitted REGISTERs).
    var channels: [UInt64: ServerChannel] = [:]
    var channelByEphemeral: [[UInt8]: UInt64] = [:]
    private var outbox: [Outgoing] = []
    /// Introductions for peer servers, for the shell to pass through the shared registry.
    var peerOutbox: [PeerIntroduction] = []
    private var outboxHead = 0
    private var nextMaintenance: Instant
    private var nextChannelSweep: Instant
    static let channelSweepInterval: Nanos = .seconds(60)
    private var nextRequestID: UInt32 = 1
    private let allocator = ByteBufferAllocator()

    package init(
        config: ServerConfig, registry: Registry = InMemoryRegistry(), bindings: DeviceBindings = FirstKeyBindings(),
        entropy: EntropySource, now: Instant
    ) {
        self.config = config
        self.registry = registry
        self.bindings = bindings
        self.entropy = entropy
        self.cookie = ServerCookie(secret: entropy.bytes(32), bucketLength: config.cookieBucket)
        self.limiter = SourceRateLimiter(
            rate: config.signalingPerSecond, burst: config.signalingBurst,
            capacity: config.maxTrackedSources)
        self.relayUnknownLimiter = SourceRateLimiter(
            rate: Self.relayUnknownPerSecond, burst: Self.relayUnknownBurst,
            capacity: config.maxTrackedSources)
        self.cookielessRegistrations = TokenBucket(
            rate: config.cookielessRegistrationsPerSecond,
            burst: config.cookielessRegistrationsPerSecond * 2, now: now)
        self.nextMaintenance = now + config.maintenanceInterval
        self.nextChannelSweep = now + Self.channelSweepInterval
    }

    package var sessionCount: Int { sessions.count }

    /// RELAY_UNKNOWN replies per source: an agent needs one to act; a few cover losses.
    static let relayUnknownPerSecond = 4.0
    static let relayUnknownBurst = 8.0

    /// What the server holds now, for the operator surface. O(sessions): call at scrape time.
    package var gauges: ServerGauges {
        ServerGauges(
            devicesOnline: registry.count(role: .device), clientsOnline: registry.count(role: .client),
            registrations: registry.count, sessions: sessions.count,
            relaySessions: sessions.values.reduce(0) { $0 + ($1.relayed ? 1 : 0) },
            trackedSources: limiter.trackedSources)
    }

    // MARK: Sans-IO

    package func receive(_ datagram: ByteBuffer, from source: NetAddress, on socket: ServerSocket, now: Instant) {
        counters.datagramsReceived &+= 1
        guard let first = datagram.getInteger(at: datagram.readerIndex, as: UInt8.self) else {
            return counters.reject(.malformed)
        }
        if let transport = PacketType(rawValue: first) {
            guard socket == .main else { return counters.reject(.unexpectedMessage) }
            return relay(datagram, type: transport, from: source, now: now)
        }
        guard SignalingMessage.isSignaling(firstByte: first) else { return counters.reject(.unknownType) }
        if first == SignalingMessageType.sealed.rawValue {
            guard socket == .main else { return counters.reject(.unexpectedMessage) }
            return receiveSealed(datagram, from: source, now: now)
        }
        guard limiter.allow(source, now: now) else { return counters.reject(.rateLimited) }
        let message: SignalingMessage
        do {
            message = try SignalingMessage.parse(datagram)
        } catch .unknownMessageType {
            return counters.reject(.unknownType)
        } catch {
            return counters.reject(.malformed)
        }
        let request = Request(message: message, source: source, socket: socket, size: datagram.readableBytes)
        if socket == .observation {
            // The second port only tells agents what it sees.
            switch message {
            case .probe, .hello: break
            default: return counters.reject(.unexpectedMessage)
            }
        }
        handle(request, now: now)
    }

    package func pollTransmit(now: Instant, into buffer: inout ByteBuffer) -> ServerTransmit? {
        buffer.clear()
        guard let (datagram, transmit) = pollDatagram(now: now) else { return nil }
        buffer.writeImmutableBuffer(datagram)
        return transmit
    }

    /// Like `pollTransmit`, without a copy: relayed datagrams come back as the very buffer that
    /// was received (the shell writes it straight to the socket).
    package func pollDatagram(now: Instant) -> (ByteBuffer, ServerTransmit)? {
        guard outboxHead < outbox.count else {
            if outboxHead > 0 {
                outbox.removeAll(keepingCapacity: true)
                outboxHead = 0
            }
            return nil
        }
        let next = outbox[outboxHead]
        outbox[outboxHead].datagram = ByteBuffer()  // release our reference early
        outboxHead += 1
        return (next.datagram, next.transmit)
    }

    package func nextDeadline() -> Instant? {
        if outboxHead < outbox.count { return .zero }
        return nextMaintenance
    }

    package func handleTimeout(now: Instant) {
        guard now >= nextMaintenance else { return }
        nextMaintenance = now + config.maintenanceInterval
        let expired = registry.expire(before: now - config.presenceTimeout)
        counters.expirations &+= UInt64(expired.count)
        for record in expired {
            closeChannel(record.token)
            note(.expired(role: record.role, uuid: record.uuid, address: record.address))
        }
        if now >= nextChannelSweep {
            // Records replaced elsewhere (a peer server took the agent) leave their channel
            // behind; O(channels), so only now and then.
            nextChannelSweep = now + Self.channelSweepInterval
            for id in channels.keys where registry.lookup(token: id) == nil { closeChannel(id) }
        }
        for (id, session) in sessions {
            if now - session.lastActivity > config.sessionIdleTimeout {
                removeSession(id)
                continue
            }
            if !session.introduceAcked, session.nextIntroduceAt <= now {
                if session.introduceSends >= config.introduceMaxSends {
                    session.nextIntroduceAt = .distantFuture
                } else {
                    sendIntroduce(id, now: now)
                }
            }
        }
    }

    // MARK: Output

    struct Request {
        var message: SignalingMessage
        var source: NetAddress
        var socket: ServerSocket
        var size: Int
        /// The channel it arrived sealed in; replies are sealed in it too.
        var channel: UInt64? = nil
    }

    /// Queues `message` to the request's source through the socket it came in on, sealed when
    /// the request was. Replies to unverified sources larger than the request are dropped
    /// (amplification guard).
    func reply(_ message: SignalingMessage, to request: Request, verified: Bool) {
        var buffer = allocator.buffer(capacity: 64)
        if let id = request.channel {
            guard let channel = channels[id] else { return }
            SignalingMessage.sealed(channel.sealed.seal(message)).write(into: &buffer)
        } else {
            message.write(into: &buffer)
        }
        if !verified && buffer.readableBytes > request.size {
            return counters.reject(.amplification)
        }
        counters.signalingReplies &+= 1
        enqueue(buffer, to: request.source, via: request.socket)
    }

    /// Sends `message` sealed in channel `id` (nothing when the channel is gone).
    func send(_ message: SignalingMessage, sealedIn id: UInt64, to destination: NetAddress) {
        guard let channel = channels[id] else { return }
        var buffer = allocator.buffer(capacity: 128)
        SignalingMessage.sealed(channel.sealed.seal(message)).write(into: &buffer)
        enqueue(buffer, to: destination, via: .main)
    }

    func closeChannel(_ id: UInt64) {
        guard let channel = channels.removeValue(forKey: id) else { return }
        if channelByEphemeral[channel.registerEphemeral] == id { channelByEphemeral[channel.registerEphemeral] = nil }
    }

    func enqueue(_ datagram: ByteBuffer, to destination: NetAddress, via socket: ServerSocket) {
        outbox.append(Outgoing(datagram: datagram, transmit: ServerTransmit(destination: destination, socket: socket)))
    }

    func reject(_ reason: RejectReason) { counters.reject(reason) }

    func note(_ entry: ServerActivity) {
        guard activity.count < Self.activityLimit else {
            activityDropped &+= 1
            return
        }
        activity.append(entry)
    }

    /// What happened since the last call (registrations, expiries, relay sessions), oldest first.
    package func pollActivity() -> [ServerActivity] {
        guard !activity.isEmpty else { return [] }
        defer { activity.removeAll(keepingCapacity: true) }
        return activity
    }

    func newRequestID() -> UInt32 {
        nextRequestID &+= 1
        return nextRequestID
    }

    func cookieFor(_ address: NetAddress, now: Instant) -> [UInt8] { cookie.make(for: address, now: now) }

    func verifyCookie(_ bytes: [UInt8], for address: NetAddress, now: Instant) -> Bool {
        cookie.verify(bytes, for: address, now: now)
    }

    func removeSession(_ id: UInt64) {
        guard let session = sessions.removeValue(forKey: id) else { return }
        if session.relayed {
            note(
                .relayEnded(
                    session: id, client: session.clientUUID, device: session.deviceUUID, bytes: session.relayedBytes))
        }
        if sessionByCID[session.clientCID] == id { sessionByCID[session.clientCID] = nil }
        if let cid = session.deviceCID, sessionByCID[cid] == id { sessionByCID[cid] = nil }
    }

    func sendIntroduce(_ id: UInt64, now: Instant) {
        guard let session = sessions[id] else { return }
        session.introduceSends += 1
        session.nextIntroduceAt = now + session.introduceInterval
        session.introduceInterval = session.introduceInterval * 2
        // The device hears it in its channel; without one (it is re-registering) the next
        // retransmission reaches it.
        guard let device = registry.lookup(role: .device, uuid: session.deviceUUID), channels[device.token] != nil
        else { return }
        counters.introductionsSent &+= 1
        send(.introduce(session.introduce), sealedIn: device.token, to: session.deviceAddress)
    }
}
