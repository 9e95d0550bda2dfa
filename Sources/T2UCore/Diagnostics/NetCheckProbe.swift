// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore

/// Sans-IO measurement behind `t2u netcheck`: PROBEs (the clear, padded request every server
/// answers on its main and observation ports with the address it saw, as agents do after
/// registering) sent from one socket to each server, a few rounds apart, plus a hairpin test:
/// a datagram from a second socket to the first socket's mapped address (does our NAT loop it
/// back?). Nothing is registered and nothing secret is sent.
///
/// Drive it with `poll(now:)` at `nextDeadline()` and `receive`; it is done (`isDone`) when
/// every probe and the hairpin test are answered or `config.timeout` has passed.
public struct NetCheckProbe {
    public struct Config: Sendable {
        /// PROBE rounds per port; the median of the answered ones is the latency.
        public var rounds = 3
        public var roundInterval = Nanos.milliseconds(150)
        /// Everything (probes and hairpin) ends by then.
        public var timeout = Nanos.seconds(2)
        public var hairpinAttempts = 3
        public var hairpinInterval = Nanos.milliseconds(150)
        public init() {}
    }

    /// Which of the shell's sockets (of the destination's family) a datagram leaves or arrives on.
    public enum Socket: Sendable, Equatable {
        /// Sends every probe; its mapping is what the servers report.
        case primary
        /// Sends the hairpin datagram only.
        case hairpin
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

    public struct ServerResult: Sendable, Equatable {
        public var server: NetAddress
        public var observation: NetAddress?
        public var main = PortResult()
        public var observed = PortResult()
        /// The public key the server stated in its CHALLENGE (unauthenticated: compared with a
        /// pinned key, it tells a wrong server or key apart); nil when it did not answer HELLO.
        public var statedKey: [UInt8]?
        public init(server: NetAddress, observation: NetAddress?, main: PortResult = .init(), observed: PortResult = .init(),
                    statedKey: [UInt8]? = nil) {
            self.server = server
            self.observation = observation
            self.main = main
            self.observed = observed
            self.statedKey = statedKey
        }
    }

    public let config: Config
    public private(set) var servers: [ServerResult]
    /// Set when the hairpin datagram arrived (see `hairpinResult`).
    private var hairpin: Bool?
    private let startedAt: Instant
    private var nextRound: Instant
    private var round = 0
    /// Probe request ID -> (server index, observation port?, sent at).
    private var pending: [UInt32: (index: Int, observation: Bool, sentAt: Instant)] = [:]
    private var nextRequestID: UInt32
    /// HELLO request ID -> server index (the CHALLENGE states the server's key).
    private var hellos: [UInt32: Int] = [:]
    private let hairpinToken: [UInt8]
    private var hairpinTarget: NetAddress?
    private var hairpinSent = 0
    private var nextHairpin = Instant.distantFuture

    /// `servers`: main ports, each with its observation port (nil: none probed).
    public init(servers: [(main: NetAddress, observation: NetAddress?)], entropy: EntropySource, now: Instant, config: Config = .init()) {
        self.config = config
        self.servers = servers.map { ServerResult(server: $0.main, observation: $0.observation) }
        startedAt = now
        nextRound = now
        nextRequestID = UInt32(truncatingIfNeeded: entropy.nextUInt64())
        // "t" (0x74) is neither a signaling nor a transport type: a stray copy is dropped as unknown.
        hairpinToken = Array("t2u-hairpin:".utf8) + (0..<2).flatMap { _ in withUnsafeBytes(of: entropy.nextUInt64()) { Array($0) } }
    }

    /// Every probe answered and the hairpin test over (arrived, or its last try waited out), or
    /// the timeout reached.
    public func isDone(now: Instant) -> Bool {
        if now - startedAt >= config.timeout { return true }
        guard round >= config.rounds, pending.isEmpty else { return false }
        if hairpin != nil || hairpinTarget == nil { return true }
        return hairpinSent >= config.hairpinAttempts && now >= nextHairpin
    }

    public func nextDeadline() -> Instant? {
        var next = startedAt + config.timeout
        if round < config.rounds { next = min(next, nextRound) }
        if hairpin == nil, hairpinTarget != nil { next = min(next, nextHairpin) }
        return next
    }

    /// The datagrams due at `now`.
    public mutating func poll(now: Instant) -> [Transmit] {
        guard now - startedAt < config.timeout else { return [] }
        var out: [Transmit] = []
        if round < config.rounds, now >= nextRound {
            round += 1
            nextRound = now + config.roundInterval
            for index in servers.indices {
                if round == 1 { out.append(hello(index: index)) }
                out.append(probe(index: index, observation: false, now: now))
                if servers[index].observation != nil { out.append(probe(index: index, observation: true, now: now)) }
            }
        }
        if hairpin == nil, let target = hairpinTarget, hairpinSent < config.hairpinAttempts, now >= nextHairpin {
            hairpinSent += 1
            nextHairpin = now + config.hairpinInterval
            out.append(Transmit(bytes: ByteBuffer(bytes: hairpinToken), to: target, socket: .hairpin))
        }
        return out
    }

    /// A datagram that arrived on `socket` from `source`. Anything not ours is ignored.
    public mutating func receive(_ datagram: ByteBuffer, from source: NetAddress, socket: Socket, now: Instant) {
        guard socket == .primary else { return }
        if datagram.readableBytesView.elementsEqual(hairpinToken) {
            hairpin = true
            return
        }
        let message = try? SignalingMessage.parse(datagram)
        if case .challenge(let id, _, let key)? = message, let index = hellos[id], source == servers[index].server {
            hellos[id] = nil
            servers[index].statedKey = key
            return
        }
        guard case .probeResult(let id, let observed)? = message, let sent = pending[id] else { return }
        let server = servers[sent.index]
        guard source == (sent.observation ? server.observation : server.server) else { return }
        pending[id] = nil
        let rtt = now - sent.sentAt
        if sent.observation {
            servers[sent.index].observed.rtts.append(rtt)
            servers[sent.index].observed.mapped = observed
        } else {
            servers[sent.index].main.rtts.append(rtt)
            servers[sent.index].main.mapped = observed
            // The first mapped address of the first family heard tests hairpinning.
            if hairpinTarget == nil {
                hairpinTarget = observed
                nextHairpin = now
            }
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

    private mutating func probe(index: Int, observation: Bool, now: Instant) -> Transmit {
        nextRequestID &+= 1
        pending[nextRequestID] = (index, observation, now)
        var buffer = ByteBufferAllocator().buffer(capacity: SignalingLimits.minPaddedRequest)
        SignalingMessage.probe(requestID: nextRequestID).write(into: &buffer)
        if observation { servers[index].observed.sent += 1 } else { servers[index].main.sent += 1 }
        return Transmit(bytes: buffer, to: (observation ? servers[index].observation : servers[index].server)!, socket: .primary)
    }
}
