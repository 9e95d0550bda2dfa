// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore

/// Sans-IO measurement behind `t2u netcheck`: PROBEs (the clear, padded request every server
/// answers on its main and observation ports with the address it saw, as agents do after
/// registering) sent from one socket to each server, a few rounds apart. A second socket runs
/// two more tests: hairpinning (a datagram to the first socket's mapped address: does our NAT
/// loop it back?) and filtering (PROBEs to the main port only, half of them asking for the
/// answer from the observation port, which that socket never wrote to: does the NAT let it
/// in?). Nothing is registered and nothing secret is sent.
///
/// Drive it with `poll(now:)` at `nextDeadline(after:)` and `receive`; it is done (`isDone`)
/// when every probe and the hairpin test are answered (an answer filtered by the NAT is waited
/// for a while, not forever) or `config.timeout` has passed.
public struct NetCheckProbe {
    public struct Config: Sendable {
        /// PROBE rounds per port; the median of the answered ones is the latency.
        public var rounds = 3
        public var roundInterval = Nanos.milliseconds(150)
        /// Everything (probes and hairpin) ends by then.
        public var timeout = Nanos.seconds(2)
        public var hairpinAttempts = 3
        public var hairpinInterval = Nanos.milliseconds(150)
        /// How long after the last round an answer from the other port may still come (at least
        /// twice the slowest round trip measured): after that, the NAT filtered it.
        public var filteringWait = Nanos.milliseconds(300)
        public init() {}
    }

    /// Which of the shell's sockets (of the destination's family) a datagram leaves or arrives on.
    public enum Socket: Sendable, Equatable {
        /// Sends every probe; its mapping is what the servers report.
        case primary
        /// Sends the hairpin datagram and the filtering PROBEs (to main ports only).
        case secondary
    }

    public struct Transmit: Equatable {
        public var bytes: ByteBuffer
        public var to: NetAddress
        public var socket: Socket
    }

    /// One server port: the round trips of its answered probes and the address it saw.
    public struct PortResult: Sendable, Equatable {
        public var rtts: [Nanos] = []
        public var mapped: NetAddress?
        public var sent = 0
        public init(rtts: [Nanos] = [], mapped: NetAddress? = nil, sent: Int = 0) {
            self.rtts = rtts
            self.mapped = mapped
            self.sent = sent
        }
        /// Median round trip; nil when nothing answered.
        public var medianRTT: Nanos? {
            guard !rtts.isEmpty else { return nil }
            let sorted = rtts.sorted()
            return sorted[sorted.count / 2]
        }
    }

    /// The filtering test with one server, from the secondary socket: control PROBEs and
    /// PROBEs answered from the observation port, both sent to the main port.
    public struct FilteringResult: Sendable, Equatable {
        public var controlSent = 0
        public var controlAnswered = 0
        public var otherPortSent = 0
        /// Answers that came from the observation port: the NAT let them in.
        public var otherPortAnswered = 0
        /// Answers to the flagged PROBE from the main port: the server predates the flag.
        public var answeredFromProbedPort = 0
        public init() {}

        public enum Verdict: Sendable, Equatable {
            /// An answer from a port we never wrote to came in: endpoint-independent or
            /// address-dependent filtering (one server address cannot tell those two apart).
            case portIndependent
            /// Control answers came in, none from the other port: address-and-port-dependent.
            case portDependent
            /// The server answered from the port probed: it cannot run the test (older than 1.x).
            case serverLacksTest
            /// No control answer (or no secondary socket): nothing to conclude.
            case notMeasured
        }

        /// Valid once the probe is done (before that a late answer may still change it).
        public var verdict: Verdict {
            if otherPortAnswered > 0 { return .portIndependent }
            if answeredFromProbedPort > 0 { return .serverLacksTest }
            return controlAnswered > 0 && otherPortSent > 0 ? .portDependent : .notMeasured
        }

        var decided: Bool { otherPortAnswered > 0 || answeredFromProbedPort > 0 }
    }

    public struct ServerResult: Sendable, Equatable {
        public var server: NetAddress
        public var observation: NetAddress?
        public var main = PortResult()
        public var observed = PortResult()
        /// The public key the server stated in its CHALLENGE (unauthenticated: compared with a
        /// pinned key, it tells a wrong server or key apart); nil when it did not answer HELLO.
        public var statedKey: [UInt8]?
        public var filtering = FilteringResult()
        public init(
            server: NetAddress, observation: NetAddress?, main: PortResult = .init(), observed: PortResult = .init(),
            statedKey: [UInt8]? = nil, filtering: FilteringResult = .init()
        ) {
            self.server = server
            self.observation = observation
            self.main = main
            self.observed = observed
            self.statedKey = statedKey
            self.filtering = filtering
        }
    }

    public let config: Config
    public private(set) var servers: [ServerResult]
    /// Set when the hairpin datagram arrived (see `hairpinResult`).
    private var hairpin: Bool?
    private let startedAt: Instant
    private var nextRound: Instant
    private var round = 0
    private var lastRoundAt = Instant.zero
    private enum ProbeKind { case main, observation, filteringControl }
    /// Probe request ID -> what it measures; answered, or waited for until the timeout (filtering
    /// controls only until the filtering wait ends).
    private var pending: [UInt32: (index: Int, kind: ProbeKind, sentAt: Instant)] = [:]
    /// Flagged PROBE request ID -> server index: its answer may never come (filtered).
    private var otherPortPending: [UInt32: Int] = [:]
    private var nextRequestID: UInt32
    /// HELLO request ID -> server index (the CHALLENGE states the server's key).
    private var hellos: [UInt32: Int] = [:]
    private let hairpinToken: [UInt8]
    private var hairpinTarget: NetAddress?
    private var hairpinSent = 0
    private var nextHairpin = Instant.distantFuture

    /// `servers`: main ports, each with its observation port (nil: none probed).
    public init(
        servers: [(main: NetAddress, observation: NetAddress?)], entropy: EntropySource, now: Instant,
        config: Config = .init()
    ) {
        self.config = config
        self.servers = servers.map { ServerResult(server: $0.main, observation: $0.observation) }
        startedAt = now
        nextRound = now
        nextRequestID = UInt32(truncatingIfNeeded: entropy.nextUInt64())
        // "t" (0x74) is neither a signaling nor a transport type: a stray copy is dropped as unknown.
        hairpinToken =
            Array("t2u-hairpin:".utf8)
            + (0..<2).flatMap { _ in withUnsafeBytes(of: entropy.nextUInt64()) { Array($0) } }
    }

    /// Every probe answered, the hairpin test over (arrived, or its last try waited out) and the
    /// filtering test decided or waited out; or the timeout reached.
    public func isDone(now: Instant) -> Bool {
        if now - startedAt >= config.timeout { return true }
        // Filtering controls do not hold the run: unanswered, they only leave filtering unmeasured.
        guard round >= config.rounds, !pending.values.contains(where: { $0.kind != .filteringControl }) else {
            return false
        }
        let hairpinOver =
            hairpin != nil || hairpinTarget == nil || (hairpinSent >= config.hairpinAttempts && now >= nextHairpin)
        return hairpinOver && (filteringDecided || now >= filteringWaitEnd)
    }

    /// When to call `poll` next, after a `poll` at `now`: the earliest instant still ahead at
    /// which something is due or a wait ends (never one in the past, which would spin a driver).
    public func nextDeadline(after now: Instant) -> Instant {
        let end = startedAt + config.timeout
        var candidates = [end]
        if round < config.rounds { candidates.append(nextRound) }
        if hairpin == nil, hairpinTarget != nil { candidates.append(nextHairpin) }
        if round >= config.rounds, !filteringDecided { candidates.append(filteringWaitEnd) }
        return candidates.filter { $0 > now }.min() ?? end
    }

    /// Every server whose control PROBEs were answered has its filtering verdict.
    private var filteringDecided: Bool {
        servers.allSatisfy { $0.filtering.controlAnswered == 0 || $0.filtering.decided }
    }

    /// The last round plus the wait for a filtered answer (twice the slowest round trip, at least
    /// `config.filteringWait`).
    private var filteringWaitEnd: Instant {
        guard round >= config.rounds else { return .distantFuture }
        let slowest = servers.flatMap { $0.main.rtts + $0.observed.rtts }.max() ?? .zero
        return lastRoundAt + max(config.filteringWait, slowest + slowest)
    }

    /// The datagrams due at `now`.
    public mutating func poll(now: Instant) -> [Transmit] {
        guard now - startedAt < config.timeout else { return [] }
        var out: [Transmit] = []
        if round < config.rounds, now >= nextRound {
            round += 1
            lastRoundAt = now
            nextRound = now + config.roundInterval
            for index in servers.indices {
                if round == 1 { out.append(hello(index: index)) }
                out.append(probe(index: index, kind: .main, now: now))
                if servers[index].observation != nil {
                    out.append(probe(index: index, kind: .observation, now: now))
                    // The control first: it opens the NAT toward the main port only.
                    out.append(probe(index: index, kind: .filteringControl, now: now))
                    out.append(otherPortProbe(index: index))
                }
            }
        }
        if hairpin == nil, let target = hairpinTarget, hairpinSent < config.hairpinAttempts, now >= nextHairpin {
            hairpinSent += 1
            nextHairpin = now + config.hairpinInterval
            out.append(Transmit(bytes: ByteBuffer(bytes: hairpinToken), to: target, socket: .secondary))
        }
        return out
    }

    /// A datagram that arrived on `socket` from `source`. Anything not ours is ignored.
    public mutating func receive(_ datagram: ByteBuffer, from source: NetAddress, socket: Socket, now: Instant) {
        if socket == .primary, datagram.readableBytesView.elementsEqual(hairpinToken) {
            hairpin = true
            return
        }
        let message = try? SignalingMessage.parse(datagram)
        if socket == .primary, case .challenge(let id, _, let key)? = message, let index = hellos[id],
            source == servers[index].server
        {
            hellos[id] = nil
            servers[index].statedKey = key
            return
        }
        guard case .probeResult(let id, let observed)? = message else { return }
        if socket == .secondary, let index = otherPortPending[id] {
            if source == servers[index].observation {
                otherPortPending[id] = nil
                servers[index].filtering.otherPortAnswered += 1
            } else if source == servers[index].server {
                otherPortPending[id] = nil
                servers[index].filtering.answeredFromProbedPort += 1
            }
            return
        }
        guard let sent = pending[id], (sent.kind == .filteringControl) == (socket == .secondary) else { return }
        let server = servers[sent.index]
        guard source == (sent.kind == .observation ? server.observation : server.server) else { return }
        pending[id] = nil
        let rtt = now - sent.sentAt
        switch sent.kind {
        case .observation:
            servers[sent.index].observed.rtts.append(rtt)
            servers[sent.index].observed.mapped = observed
        case .main:
            servers[sent.index].main.rtts.append(rtt)
            servers[sent.index].main.mapped = observed
            // The first mapped address of the first family heard tests hairpinning.
            if hairpinTarget == nil {
                hairpinTarget = observed
                nextHairpin = now
            }
        case .filteringControl:
            servers[sent.index].filtering.controlAnswered += 1
        }
    }

    /// The hairpin datagram never came back (or was never sent): false once the test ran out.
    public var hairpinResult: Bool? {
        if let hairpin { return hairpin }
        return hairpinSent > 0 ? false : nil
    }

    /// One HELLO per server (not retransmitted: the key is a bonus; probes measure reachability).
    private mutating func hello(index: Int) -> Transmit {
        nextRequestID &+= 1
        hellos[nextRequestID] = index
        var buffer = ByteBufferAllocator().buffer(capacity: SignalingLimits.minPaddedRequest)
        SignalingMessage.hello(requestID: nextRequestID, role: .client).write(into: &buffer)
        return Transmit(bytes: buffer, to: servers[index].server, socket: .primary)
    }

    private mutating func probe(index: Int, kind: ProbeKind, now: Instant) -> Transmit {
        nextRequestID &+= 1
        pending[nextRequestID] = (index, kind, now)
        var buffer = ByteBufferAllocator().buffer(capacity: SignalingLimits.minPaddedRequest)
        SignalingMessage.probe(requestID: nextRequestID).write(into: &buffer)
        switch kind {
        case .main:
            servers[index].main.sent += 1
            return Transmit(bytes: buffer, to: servers[index].server, socket: .primary)
        case .observation:
            servers[index].observed.sent += 1
            return Transmit(bytes: buffer, to: servers[index].observation!, socket: .primary)
        case .filteringControl:
            servers[index].filtering.controlSent += 1
            return Transmit(bytes: buffer, to: servers[index].server, socket: .secondary)
        }
    }

    private mutating func otherPortProbe(index: Int) -> Transmit {
        nextRequestID &+= 1
        otherPortPending[nextRequestID] = index
        servers[index].filtering.otherPortSent += 1
        var buffer = ByteBufferAllocator().buffer(capacity: SignalingLimits.minPaddedRequest)
        SignalingMessage.probeFromOtherPort(requestID: nextRequestID).write(into: &buffer)
        return Transmit(bytes: buffer, to: servers[index].server, socket: .secondary)
    }
}
