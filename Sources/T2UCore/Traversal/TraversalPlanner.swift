// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// Sans-IO plan of one session's path discovery on one side: which addresses to probe or
/// punch, from which socket, when. Both sides derive their plans from the same facts (the two
/// NAT behaviours from signaling), so they act in step without talking to each other.
///
/// - candidates (always, first): LAN candidates, then the reflexive address.
/// - prediction: toward a sequential endpoint-dependent peer, its next ports
///   (reflexive + k * delta). When we are sequential too, our k-th new mapping goes to the
///   peer's k-th port (k counted from our registration: main 0, observation 1, ...), and the
///   peer does the same, so both mappings of one pair point at each other.
/// - birthday: exactly one side random endpoint-dependent, the other endpoint-independent:
///   the dependent side opens K sockets punching the peer's reflexive address (K mappings),
///   the independent side sprays N probes/punches at random ports of the dependent side's IP.
/// - both endpoint-dependent with one random: no NAT strategy (`.relayOnly`); the candidates
///   still run (a shared LAN needs no NAT traversal).
///
/// Poll with `poll(now:)` while `nextDeadline()` <= now. `stop()` ends it (a path won).
package struct TraversalPlanner: Sendable {
    package let role: TraversalRole
    package let localNAT: NATBehavior
    package let peer: TraversalPeer
    package let sessionID: UInt64
    /// The strategies for these two NATs, in order (`.relayOnly` last: no direct path expected
    /// beyond a shared LAN).
    package let strategies: [TraversalStrategy]
    package let config: TraversalConfig
    package private(set) var stopped = false
    /// Auxiliary sockets the plan asked for.
    package private(set) var auxiliarySockets = 0

    private struct Scheduled: Sendable {
        var at: Instant
        var action: TraversalAction
        var strategy: TraversalStrategy
    }

    /// Sorted by time (stable), consumed from `head`.
    private var schedule: [Scheduled] = []
    private var head = 0
    private let startedAt: Instant
    /// Which strategy produced each address probed or punched from the main socket.
    private var origin: [NetAddress: TraversalStrategy] = [:]

    /// - Parameter remembered: what worked with this peer last time (client memory): that
    ///   strategy starts without delay; `.relayOnly` plans the candidates only.
    package init(
        role: TraversalRole, localNAT: NATBehavior, peer: TraversalPeer, sessionID: UInt64, entropy: EntropySource,
        now: Instant, config: TraversalConfig = .init(), remembered: TraversalStrategy? = nil
    ) {
        self.role = role
        self.localNAT = localNAT
        self.peer = peer
        self.sessionID = sessionID
        self.config = config
        self.startedAt = now
        let strategies = Self.strategies(local: localNAT, peer: peer.nat)
        self.strategies = strategies
        var builder = Builder(role: role, config: config, start: now)
        builder.candidates(peer)
        for strategy in strategies where remembered != .relayOnly && strategy != .candidates && strategy != .relayOnly {
            let at = now + (remembered == strategy ? .zero : config.strategyDelay)
            switch strategy {
            case .prediction: builder.prediction(local: localNAT, peer: peer, at: at)
            case .birthday: builder.birthday(local: localNAT, peer: peer, at: at, entropy: entropy)
            default: break
            }
        }
        var punches = 0
        schedule = builder.items.enumerated().sorted { ($0.element.at, $0.offset) < ($1.element.at, $1.offset) }
            .compactMap {
                if case .punch = $0.element.action {
                    punches += 1
                    if punches > config.maxPunches { return nil }
                }
                return Scheduled(at: $0.element.at, action: $0.element.action, strategy: $0.element.strategy)
            }
        auxiliarySockets = builder.sockets
        for item in schedule {
            switch item.action {
            case .probe(let address, _), .punch(let address, socket: 0):
                if origin[address] == nil { origin[address] = item.strategy }
            default: break
            }
        }
    }

    /// What the two NAT behaviours allow, in the order to try.
    package static func strategies(local: NATBehavior, peer: NATBehavior) -> [TraversalStrategy] {
        var result: [TraversalStrategy] = [.candidates]
        if local.isRandomDependent && peer.isEndpointDependent || peer.isRandomDependent && local.isEndpointDependent {
            return result + [.relayOnly]
        }
        if local.predictableDelta != nil || peer.predictableDelta != nil { result.append(.prediction) }
        if local.isRandomDependent && peer == .endpointIndependent
            || peer.isRandomDependent && local == .endpointIndependent
        {
            result.append(.birthday)
        }
        return result
    }

    // MARK: polling

    package func nextDeadline() -> Instant? {
        guard !stopped, head < schedule.count else { return nil }
        return schedule[head].at
    }

    /// The next action due at `now`, or nil.
    package mutating func poll(now: Instant) -> TraversalAction? {
        guard !stopped, head < schedule.count, schedule[head].at <= now else { return nil }
        defer { head += 1 }
        if now - startedAt > config.window {
            head = schedule.count
            return nil
        }
        return schedule[head].action
    }

    /// A path won (or the session ended): nothing more is emitted.
    package mutating func stop() {
        stopped = true
    }

    /// A direct path is in use: the NAT strategies (spray, predicted ports, auxiliary punches)
    /// have nothing left to find; the candidate rounds go on (a LAN path may still beat it).
    package mutating func dropNATStrategies() {
        guard head < schedule.count else { return }
        schedule = Array(schedule[head...].filter { $0.strategy == .candidates })
        head = 0
    }

    /// The window is over: auxiliary sockets not carrying the session may close.
    package func windowEnded(now: Instant) -> Bool { now - startedAt >= config.window }

    /// When the window ends (a plan may start later than it was made: `PunchOrder`).
    package var windowEnd: Instant { startedAt + config.window }

    /// The strategy an address came from (nil: not planned, e.g. learned from a punch).
    package func strategy(for address: NetAddress) -> TraversalStrategy? { origin[address] }

    /// Actions left (tests, logs).
    package var pendingCount: Int { stopped ? 0 : schedule.count - head }
}

/// Collects the timed actions of a plan.
private struct Builder {
    let role: TraversalRole
    let config: TraversalConfig
    let start: Instant
    var items: [(at: Instant, action: TraversalAction, strategy: TraversalStrategy)] = []
    var sockets = 0
    /// Distinct destinations of the main socket in emission order: a sequential NAT allocates
    /// one mapping each (after main 0 and observation 1).
    private var contacted: [NetAddress] = []
    private var contactedSet: Set<NetAddress> = []

    init(role: TraversalRole, config: TraversalConfig, start: Instant) {
        self.role = role
        self.config = config
        self.start = start
    }

    /// Our NAT's allocation index of the next new destination.
    var nextAllocation: Int { 2 + contacted.count }

    mutating func contact(_ address: NetAddress, at: Instant, strategy: TraversalStrategy, attempts: Int) {
        if contactedSet.insert(address).inserted { contacted.append(address) }
        switch role {
        case .client: items.append((at, .probe(address, attempts: attempts), strategy))
        case .device: items.append((at, .punch(address, socket: 0), strategy))
        }
    }

    mutating func candidates(_ peer: TraversalPeer) {
        var targets: [NetAddress] = []
        for address in peer.candidates + [peer.reflexive].compactMap({ $0 }) where !targets.contains(address) {
            targets.append(address)
        }
        let rounds = role == .client ? config.probeRounds : config.punchRounds
        for round in rounds {
            for target in targets {
                contact(target, at: start + round, strategy: .candidates, attempts: config.probeAttempts)
            }
        }
    }

    mutating func prediction(local: NATBehavior, peer: TraversalPeer, at: Instant) {
        guard let delta = peer.nat.predictableDelta, let reflexive = peer.reflexive else { return }
        let paired = local.predictableDelta != nil
        var targets: [NetAddress] = []
        for k in 1...max(1, config.predictedPorts) {
            // Paired: the port the peer's mapping of the same index will have.
            let index = paired ? nextAllocation + targets.count : k
            let port = Int(reflexive.port) + index * Int(delta)
            guard (1...65535).contains(port) else { continue }
            let target = NetAddress(host: reflexive.host, port: UInt16(port))
            if !targets.contains(target) && !contactedSet.contains(target) { targets.append(target) }
        }
        // Twice: the peer's mappings may open after our first datagram arrived.
        for round in [Nanos.zero, .milliseconds(400), .seconds(1)] {
            for target in targets {
                contact(target, at: at + round, strategy: .prediction, attempts: config.probeAttempts)
            }
        }
    }

    mutating func birthday(local: NATBehavior, peer: TraversalPeer, at: Instant, entropy: EntropySource) {
        guard let reflexive = peer.reflexive else { return }
        if local.isRandomDependent {
            // K mappings toward the peer's one public address.
            let k = config.birthdaySockets
            guard k > 0 else { return }
            sockets = k
            items.append((at, .openSockets(k), .birthday))
            for round in config.auxiliaryPunchRounds {
                for socket in 1...k { items.append((at + round, .punch(reflexive, socket: socket), .birthday)) }
            }
        } else {
            // N random ports of the dependent side's IP, paced.
            let n = max(0, config.sprayCount)
            let spacing = Nanos(1_000_000_000 / Int64(max(1, config.sprayRate)))
            let low = UInt64(config.sprayPorts.lowerBound)
            let span = UInt64(config.sprayPorts.upperBound) - low + 1
            var seen: Set<UInt16> = []
            var emitted = 0
            var draws = 0
            while emitted < n && draws < n * 4 {
                draws += 1
                let port = UInt16(low + entropy.nextUInt64() % span)
                guard seen.insert(port).inserted else { continue }
                let target = NetAddress(host: reflexive.host, port: port)
                let time = at + spacing * Int64(emitted)
                switch role {
                case .client: items.append((time, .probe(target, attempts: 1), .birthday))
                case .device: items.append((time, .punch(target, socket: 0), .birthday))
                }
                emitted += 1
            }
        }
    }
}
