// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

#if canImport(Glibc)
import Glibc
import NIOCore
import T2UCore
import T2UNIO

/// Monotonic nanoseconds (`MonotonicClock`, as the agents and the server read it).
func monotonicNanos() -> Int64 { MonotonicClock.now().nanoseconds }

/// What simulated agents need to talk to the server.
struct BenchServerTarget: Sendable {
    var address: sockaddr_in
    var netAddress: NetAddress
    /// The server's public key (the agents' pinned svrkey).
    var publicKey: [UInt8]
}

/// Registration of one agent at a time over a multiplexed socket: HELLO -> CHALLENGE ->
/// REGISTER (cookie, Noise IK to the server key) -> REGISTERED, retransmitted after `retransmit`;
/// keepalives (and the query load's queries) sealed in each agent's channel. Agents are
/// numbered 0..<count; agent i sends from `baseAddress + i`.
/// Lives on one thread: the device fleet is made on the thread that drives it.
final class AgentRegistrar {
    enum Phase: UInt8 {
        case idle, hello, registering, registered
    }

    let role: SignalingRole
    let count: Int
    let baseAddress: UInt32
    let uuidPrefix: String
    let socket: MultiplexedUDPSocket
    let target: BenchServerTarget
    private(set) var phase: [Phase]
    private(set) var tokens: [UInt64]
    /// Each agent's static key (made at its first HELLO), its handshake in flight and its channel.
    private var identities: [StaticIdentity?]
    private var initiators: [Int: SignalingRegistration.Initiator] = [:]
    private var channels: [SealedChannel?]
    private let entropy = SystemEntropy()
    private(set) var registeredCount = 0
    private(set) var retransmissions = 0
    private(set) var errors = 0
    var keepaliveInterval: Int64 = 20_000_000_000
    /// (due, agent) in due order: registrations complete roughly in order, and each keepalive
    /// is pushed `keepaliveInterval` after the previous, so a FIFO stays sorted.
    private var keepalives: [(Int64, Int32)] = []
    private var keepaliveHead = 0
    private(set) var keepalivesSent = 0
    private(set) var keepaliveAcks = 0
    /// (sentAt, agent, phase) of requests in flight, oldest first.
    private var pending: [(Int64, Int32, Phase)] = []
    private var pendingHead = 0
    private var nextToStart = 0
    private var inFlight = 0
    private var buffer = ByteBuffer()

    init(
        role: SignalingRole, count: Int, baseAddress: UInt32, uuidPrefix: String, socket: MultiplexedUDPSocket,
        target: BenchServerTarget
    ) {
        self.role = role
        self.count = count
        self.baseAddress = baseAddress
        self.uuidPrefix = uuidPrefix
        self.socket = socket
        self.target = target
        self.phase = Array(repeating: .idle, count: count)
        self.tokens = Array(repeating: 0, count: count)
        self.identities = Array(repeating: nil, count: count)
        self.channels = Array(repeating: nil, count: count)
        buffer.reserveCapacity(256)
    }

    var allRegistered: Bool { registeredCount == count }

    func uuid(_ agent: Int) -> String { Self.uuid(prefix: uuidPrefix, agent) }

    static func uuid(prefix: String, _ agent: Int) -> String { "\(prefix)-\(agent)" }

    private func identity(_ agent: Int) -> StaticIdentity {
        if let identity = identities[agent] { return identity }
        let identity = StaticIdentity.generate(entropy)
        identities[agent] = identity
        return identity
    }

    /// Sends `message`, sealed in the agent's channel when it is a channel message.
    func send(_ message: SignalingMessage, agent: Int) {
        buffer.clear()
        if message.isChannelMessage {
            guard channels[agent] != nil else { return }
            SignalingMessage.sealed(channels[agent]!.seal(message)).write(into: &buffer)
        } else {
            message.write(into: &buffer)
        }
        buffer.withUnsafeReadableBytes { _ = socket.send($0, from: baseAddress + UInt32(agent), to: target.address) }
    }

    /// The message inside a SEALED reply to `agent` (nil: not authentic for its channel).
    func unseal(_ message: SignalingMessage, agent: Int) -> SignalingMessage? {
        guard case .sealed(let sealed) = message else { return message }
        guard channels[agent]?.id == sealed.channel else { return nil }
        return try? channels[agent]!.open(sealed)
    }

    /// Starts registrations up to `window` in flight, retransmits stale ones, sends due keepalives.
    func tick(now: Int64, window: Int, retransmit: Int64) {
        while inFlight < window, nextToStart < count {
            let agent = nextToStart
            nextToStart += 1
            inFlight += 1
            phase[agent] = .hello
            sendCurrent(agent, now: now)
        }
        while pendingHead < pending.count {
            let (sentAt, agent, sentPhase) = pending[pendingHead]
            if phase[Int(agent)] != sentPhase {
                pendingHead += 1  // answered
                continue
            }
            guard now - sentAt >= retransmit else { break }
            pendingHead += 1
            retransmissions += 1
            if sentPhase == .registering { phase[Int(agent)] = .hello }  // cookie may be stale: start over
            sendCurrent(Int(agent), now: now)
        }
        if pendingHead > 4096, pendingHead * 2 > pending.count {
            pending.removeFirst(pendingHead)
            pendingHead = 0
        }
        while keepaliveHead < keepalives.count, keepalives[keepaliveHead].0 <= now {
            let agent = Int(keepalives[keepaliveHead].1)
            keepaliveHead += 1
            guard phase[agent] == .registered else { continue }
            send(.keepalive(requestID: UInt32(truncatingIfNeeded: agent), token: tokens[agent]), agent: agent)
            keepalivesSent += 1
            keepalives.append((now + keepaliveInterval, Int32(agent)))
        }
        if keepaliveHead > 4096, keepaliveHead * 2 > keepalives.count {
            keepalives.removeFirst(keepaliveHead)
            keepaliveHead = 0
        }
    }

    private var cookies: [Int: [UInt8]] = [:]

    private func sendCurrent(_ agent: Int, now: Int64) {
        switch phase[agent] {
        case .hello:
            send(.hello(requestID: UInt32(truncatingIfNeeded: agent), role: role), agent: agent)
        case .registering:
            guard let cookie = cookies[agent] else { return }
            if initiators[agent] == nil {
                initiators[agent] = try? SignalingRegistration.Initiator(
                    requestID: UInt32(truncatingIfNeeded: agent), role: role, cookie: cookie, identity: identity(agent),
                    serverPublicKey: target.publicKey,
                    payload: RegistrationPayload(uuid: uuid(agent), extra: [], candidates: []),
                    entropy: entropy)
            }
            guard let initiator = initiators[agent] else { return }
            send(.register(initiator.message), agent: agent)
        case .idle, .registered:
            return
        }
        pending.append((now, Int32(agent), phase[agent]))
    }

    /// Handles a reply addressed to `destination`; false if it is not one of ours.
    @discardableResult
    func handle(_ message: SignalingMessage, destination: UInt32, now: Int64) -> Bool {
        let offset = destination &- baseAddress
        guard offset < UInt32(count) else { return false }
        let agent = Int(offset)
        guard let message = unseal(message, agent: agent) else { return true }
        switch message {
        case .challenge(_, let cookie, let serverKey):
            guard phase[agent] == .hello, serverKey == target.publicKey else { return true }
            cookies[agent] = cookie
            initiators[agent] = nil
            phase[agent] = .registering
            sendCurrent(agent, now: now)
        case .registered(_, let ephemeral, let encrypted):
            guard phase[agent] == .registering, let initiator = initiators[agent],
                let completed = try? initiator.complete(ephemeral: ephemeral, encryptedPayload: encrypted)
            else { return true }
            let (answer, channel) = completed
            let keepaliveSeconds = answer.keepaliveSeconds
            let token = answer.token
            cookies[agent] = nil
            initiators[agent] = nil
            channels[agent] = channel
            phase[agent] = .registered
            tokens[agent] = token
            registeredCount += 1
            inFlight -= 1
            keepaliveInterval = Int64(max(1, keepaliveSeconds)) * 1_000_000_000
            keepalives.append((now + keepaliveInterval, Int32(agent)))
        case .keepaliveAck:
            keepaliveAcks += 1
        case .error:
            errors += 1
            if phase[agent] == .registered {
                // The server forgot us (expiry): register again.
                channels[agent] = nil
                phase[agent] = .hello
                registeredCount -= 1
                inFlight += 1
                sendCurrent(agent, now: now)
            }
        default:
            break
        }
        return true
    }
}

/// Latencies in microseconds, for percentiles.
struct LatencySamples {
    private(set) var samples: [UInt32] = []

    init() { samples.reserveCapacity(1 << 20) }

    mutating func add(nanoseconds: Int64) { samples.append(UInt32(clamping: nanoseconds / 1000)) }

    /// The p-th percentile in milliseconds (0 without samples).
    func percentile(_ p: Double) -> Double {
        guard !samples.isEmpty else { return 0 }
        let sorted = samples.sorted()
        let index = min(sorted.count - 1, Int((Double(sorted.count) * p / 100).rounded(.up)) - 1)
        return Double(sorted[max(0, index)]) / 1000
    }
}

/// M registered clients sending QUERY for random registered device UUIDs, each with at most
/// `inFlight` outstanding; a query unanswered after `timeout` counts as lost and is replaced.
final class QueryLoad {
    let clients: AgentRegistrar
    let deviceUUIDs: (Int) -> String
    let deviceCount: Int
    let inFlight: Int
    let timeout: Int64
    private var sentAt: [Int64]
    private var requestSerial: [UInt32]
    private var rng: UInt64 = 0x9E37_79B9_7F4A_7C15
    private(set) var latencies = LatencySamples()
    private(set) var answered = 0
    private(set) var online = 0
    private(set) var lost = 0
    private(set) var errors = 0
    private(set) var sent = 0
    var recording = true

    init(
        clients: AgentRegistrar, deviceCount: Int, deviceUUIDs: @escaping (Int) -> String, inFlight: Int, timeout: Int64
    ) {
        self.clients = clients
        self.deviceCount = deviceCount
        self.deviceUUIDs = deviceUUIDs
        self.inFlight = inFlight
        self.timeout = timeout
        sentAt = Array(repeating: 0, count: clients.count * inFlight)
        requestSerial = Array(repeating: 0, count: clients.count * inFlight)
    }

    private func random(below bound: Int) -> Int {
        rng ^= rng << 13
        rng ^= rng >> 7
        rng ^= rng << 17
        return Int(rng % UInt64(bound))
    }

    /// requestID = serial(24 bits) | slot(8 bits): a late answer to a replaced query is ignored.
    private func fire(slot: Int, now: Int64) {
        let client = slot / inFlight
        requestSerial[slot] &+= 1
        let id = (requestSerial[slot] & 0xFF_FFFF) << 8 | UInt32(slot % inFlight)
        sentAt[slot] = now
        sent += 1
        clients.send(
            .query(requestID: id, token: clients.tokens[client], uuid: deviceUUIDs(random(below: deviceCount))),
            agent: client)
    }

    func start(now: Int64) {
        for slot in 0..<sentAt.count { fire(slot: slot, now: now) }
    }

    func tick(now: Int64) {
        for slot in 0..<sentAt.count where now - sentAt[slot] > timeout {
            lost += 1
            fire(slot: slot, now: now)
        }
    }

    func handle(_ message: SignalingMessage, destination: UInt32, now: Int64) {
        let offset = destination &- clients.baseAddress
        guard offset < UInt32(clients.count) else { return }
        guard let message = clients.unseal(message, agent: Int(offset)) else { return }
        switch message {
        case .queryResult(let result):
            let slot = Int(offset) * inFlight + Int(result.requestID & 0xFF)
            guard Int(result.requestID & 0xFF) < inFlight, result.requestID >> 8 == requestSerial[slot] & 0xFF_FFFF
            else { return }
            answered += 1
            if result.online { online += 1 }
            if recording { latencies.add(nanoseconds: now - sentAt[slot]) }
            fire(slot: slot, now: now)
        case .error:
            errors += 1
        default:
            clients.handle(message, destination: destination, now: now)
        }
    }
}
#endif
