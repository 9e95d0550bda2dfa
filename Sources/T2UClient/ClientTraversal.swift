// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Logging
import NIOCore
import T2UCore
import T2UNIO

/// Path discovery for one established session (client side). Confined to the SDK loop.
///
/// Runs a `TraversalPlanner` (role client) against the device's NAT behaviour, reflexive
/// address and candidates: probes go out as the connection's authenticated
/// `probePath`; auxiliary sockets (birthday, our NAT random endpoint-dependent) punch the
/// device's reflexive address. A punch reaching us (main or auxiliary socket) from A makes us
/// probe A at once, through the socket it hit. Validated paths arrive as the connection's
/// `.pathValidated` events; the path selection (PortMapping) then calls `settled(on:)` and
/// `stop(keep:)`.
final class ClientTraversal {
    unowned let core: ClientCore
    let connection: Connection
    let uuid: String
    let sessionID: UInt64
    private var planner: TraversalPlanner
    private var timer: Scheduled<Void>?
    /// Planner socket number (1...K) -> driver auxiliary index.
    private var auxiliary: [Int] = []
    private var auxiliaryRequested = false
    /// Addresses a punch made us probe, with the strategy that produced them.
    private var punched: [NetAddress: TraversalStrategy] = [:]
    private var lastPunchProbe: [NetAddress: Instant] = [:]
    private var stopped = false
    /// Addresses probed or punched so far (`PathInfo.relayReason` counts them).
    private(set) var tried: Set<NetAddress> = []
    /// The relay is what worked with this device last time: NAT strategies are skipped.
    let rememberedRelay: Bool
    /// How long the server asked us to wait (`PunchOrder`).
    let punchDelay: Nanos
    /// `settled(on:)` was called (else the window's end records what the session ended up on).
    private var recorded = false
    private let entropy = SystemEntropy()
    /// Where the device can be: punches from elsewhere are not answered with probes (a 13-byte
    /// spoofed punch must not buy PATH_CHALLENGEs toward a victim). nil: no device address known,
    /// no punch is answered.
    private let scope: PunchScope?

    /// Punch-triggered probes per address at most this often.
    static let punchProbeInterval: Nanos = .milliseconds(250)
    static let punchProbeAttempts = 3

    init(
        core: ClientCore, connection: Connection, uuid: String, reflexive: NetAddress?,
        connectResult: SignalingMessage.ConnectResult
    ) {
        self.core = core
        self.connection = connection
        self.uuid = uuid
        self.sessionID = connectResult.sessionID
        let deviceReflexive = reflexive ?? connectResult.deviceCandidates.first
        // As the device does (docs/SECURITY.md §4): the device's public IP and its candidates on
        // our own subnets (and its global IPv6 addresses); any other LAN address cannot be the
        // device's, only someone else's.
        let scope = deviceReflexive.map {
            PunchScope(observed: $0, subnets: LocalAddresses.subnets(), candidates: connectResult.deviceCandidates)
        }
        self.scope = scope
        let others = connectResult.deviceCandidates.filter { $0 != deviceReflexive }
        let candidates = scope?.partition(others).kept ?? others
        let peer = TraversalPeer(nat: connectResult.deviceNAT, reflexive: deviceReflexive, candidates: candidates)
        let now = EndpointDriver.now()
        var config = TraversalConfig()
        config.birthdaySockets = min(config.birthdaySockets, core.driver.auxiliarySocketsAvailable)
        let remembered = core.traversalMemory.recall(uuid, now: now)
        rememberedRelay = remembered == .relayOnly
        punchDelay = connectResult.punchDelay
        // The device sends first this time (`PunchOrder`): our plan starts when its first punch
        // has left its router.
        planner = TraversalPlanner(
            role: .client, localNAT: core.signaling.nat, peer: peer, sessionID: connectResult.sessionID,
            entropy: entropy, now: now + connectResult.punchDelay, config: config, remembered: remembered)
    }

    private var logger: Logger { core.logger }

    /// Starts probing; validated paths arrive as the connection's `.pathValidated` events.
    func start() {
        guard !stopped else { return }
        core.traversals[sessionID] = self
        var metadata: Logger.Metadata = [
            "uuid": "\(uuid)", "ours": "\(planner.localNAT)", "device": "\(planner.peer.nat)",
            "strategies": "\(planner.strategies.map(\.description).joined(separator: ", "))",
        ]
        if planner.auxiliarySockets > 0 { metadata["sockets"] = "\(planner.auxiliarySockets)" }
        if planner.strategies.contains(.relayOnly) {
            logger.info(
                "both NATs allocate ports per destination without a pattern: relay only beyond the LAN",
                metadata: metadata)
        } else if punchDelay > .zero {
            metadata["ms"] = "\(punchDelay.value / 1_000_000)"
            logger.info(
                "the device sends first this time (our last sessions with it stayed relayed): probing later",
                metadata: metadata)
        } else {
            logger.debug("path discovery", metadata: metadata)
        }
        run()
    }

    /// The path the selection settled on (for per-peer memory); nil = relay.
    func settled(on address: NetAddress?) {
        recorded = true
        let now = EndpointDriver.now()
        guard let address else {
            core.traversalMemory.remember(.relayOnly, for: uuid, now: now)
            return
        }
        let strategy = punched[address] ?? planner.strategy(for: address) ?? .candidates
        core.traversalMemory.remember(strategy, for: uuid, now: now)
        // Spraying on would only open more mappings; LAN candidates keep being probed.
        planner.dropNATStrategies()
        logger.info(
            "direct path found", metadata: ["uuid": "\(uuid)", "address": "\(address)", "strategy": "\(strategy)"])
    }

    /// Stops probing and releases what it opened (auxiliary sockets not carrying `keep`).
    func stop(keep: NetAddress?) {
        guard !stopped else { return }
        stopped = true
        planner.stop()
        timer?.cancel()
        timer = nil
        if core.traversals[sessionID] === self { core.traversals[sessionID] = nil }
        let kept = keep.map { core.driver.route(to: $0) } ?? 0
        core.driver.closeAuxiliarySockets(auxiliary.filter { $0 != kept })
        auxiliary = auxiliary.filter { $0 == kept }
        // The socket carrying the session stays until the connection closes (ClientCore sweeps).
        if !auxiliary.isEmpty { core.retainedTraversals.append(self) }
    }

    /// After `stop`: closes the kept socket once the session's connection closed; true when done.
    func releaseIfSessionEnded() -> Bool {
        guard connection.state == .closed else { return false }
        core.driver.closeAuxiliarySockets(auxiliary)
        auxiliary = []
        return true
    }

    /// A punch from `address` reached socket `socket` (0 main): the device's NAT has a mapping
    /// toward that socket's, so probe back through it.
    func punched(from address: NetAddress, socket: Int) {
        guard !stopped, connection.state != .closed, scope?.allows(address) == true else { return }
        let now = EndpointDriver.now()
        if let last = lastPunchProbe[address], now - last < Self.punchProbeInterval { return }
        lastPunchProbe[address] = now
        if socket != 0 { core.driver.setRoute(address, socket: socket) }
        if punched[address] == nil {
            punched[address] = socket != 0 ? .birthday : planner.strategy(for: address) ?? .candidates
        }
        connection.probePath(to: address, attempts: Self.punchProbeAttempts, now: now)
        core.driver.requestStep()
    }

    // MARK: plan execution

    private func run() {
        timer = nil
        guard !stopped else { return }
        let now = EndpointDriver.now()
        var acted = false
        while let action = planner.poll(now: now) {
            acted = true
            execute(action, now: now)
        }
        if acted { core.driver.requestStep() }
        if let next = planner.nextDeadline() {
            timer = core.loop.assumeIsolated().scheduleTask(
                deadline: .uptimeNanoseconds(UInt64(max(0, next.nanoseconds)))
            ) { [weak self] in
                self?.run()
            }
        } else if planner.windowEnded(now: now) {
            // Nothing more to try: mappings nobody answered on are useless.
            releaseIdleSockets()
        } else {
            let end = now + planner.config.window
            timer = core.loop.assumeIsolated().scheduleTask(
                deadline: .uptimeNanoseconds(UInt64(max(0, end.nanoseconds)))
            ) { [weak self] in
                self?.releaseIdleSockets()
            }
        }
    }

    private func execute(_ action: TraversalAction, now: Instant) {
        switch action {
        case .probe(let address, let attempts):
            guard connection.state != .closed else { return }
            tried.insert(address)
            connection.probePath(to: address, attempts: attempts, now: now)
        case .punch(let address, let socket):
            let index = socket == 0 ? 0 : (socket <= auxiliary.count ? auxiliary[socket - 1] : -1)
            guard index >= 0 else { return }
            tried.insert(address)
            var datagram = ByteBufferAllocator().buffer(capacity: TraversalPunch.length)
            TraversalPunch.write(sessionID: sessionID, entropy: entropy, into: &datagram)
            core.driver.send(datagram, to: address, socket: index)
        case .openSockets(let count):
            guard !auxiliaryRequested else { return }
            auxiliaryRequested = true
            core.driver.openAuxiliarySockets(count: count).assumeIsolated().whenSuccess { [weak self] indices in
                guard let self else { return }
                if self.stopped {
                    self.core.driver.closeAuxiliarySockets(indices)
                } else {
                    self.auxiliary = indices
                }
            }
        }
    }

    /// Window over without a stop: close auxiliary sockets no route uses, and remember what
    /// the session is on if the selection never said (still relayed: relay only).
    private func releaseIdleSockets() {
        guard !stopped else { return }
        if !recorded {
            let peer = connection.peerAddress
            settled(on: peer == core.serverAddress ? nil : peer)
        }
        let used = core.driver.auxiliarySocketsInUse()
        core.driver.closeAuxiliarySockets(auxiliary.filter { !used.contains($0) })
        auxiliary = auxiliary.filter { used.contains($0) }
    }
}
