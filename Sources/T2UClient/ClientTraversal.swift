// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Logging
import NIOCore
import T2UCore
import T2UNIO

/// Path discovery for one established session (client side). Confined to the SDK loop.
///
/// Runs a `TraversalExecution` (role client) against the device's NAT behaviour, reflexive
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
    private var execution: TraversalExecution
    private var timer: Scheduled<Void>?
    /// The relay is what worked with this device last time: NAT strategies are skipped.
    let rememberedRelay: Bool
    /// How long the server asked us to wait (`PunchOrder`).
    let punchDelay: Nanos
    /// `settled(on:)` was called (else the window's end records what the session ended up on).
    private var recorded = false

    /// Addresses probed or punched so far (`PathInfo.relayReason` counts them).
    var tried: Set<NetAddress> { execution.tried }
    private var stopped: Bool { execution.stopped }
    private var planner: TraversalPlanner { execution.planner }

    init(
        core: ClientCore, connection: Connection, uuid: String, reflexive: NetAddress?,
        connectResult: SignalingMessage.ConnectResult
    ) {
        self.core = core
        self.connection = connection
        self.uuid = uuid
        self.sessionID = connectResult.sessionID
        let now = EndpointDriver.now()
        var config = TraversalConfig()
        config.birthdaySockets = min(config.birthdaySockets, core.driver.auxiliarySocketsAvailable)
        let remembered = core.traversalMemory.recall(uuid, now: now)
        rememberedRelay = remembered == .relayOnly
        punchDelay = connectResult.punchDelay
        let entropy = SystemEntropy()
        let (planner, scope) = TraversalPlanner.client(
            connectResult: connectResult, reflexive: reflexive, localNAT: core.signaling.nat,
            subnets: LocalAddresses.subnets(), entropy: entropy, now: now, config: config, remembered: remembered)
        execution = TraversalExecution(planner: planner, scope: scope, entropy: entropy)
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
        let strategy = execution.strategy(for: address)
        core.traversalMemory.remember(strategy, for: uuid, now: now)
        execution.dropNATStrategies()
        logger.info(
            "direct path found", metadata: ["uuid": "\(uuid)", "address": "\(address)", "strategy": "\(strategy)"])
    }

    /// Stops probing and releases what it opened (auxiliary sockets not carrying `keep`).
    func stop(keep: NetAddress?) {
        guard !stopped else { return }
        timer?.cancel()
        timer = nil
        if core.traversals[sessionID] === self { core.traversals[sessionID] = nil }
        let kept = keep.map { core.driver.route(to: $0) } ?? 0
        core.driver.closeAuxiliarySockets(execution.stop(keeping: [kept]))
        // The socket carrying the session stays until the connection closes (ClientCore sweeps).
        if !execution.auxiliary.isEmpty { core.retainedTraversals.append(self) }
    }

    /// After `stop`: closes the kept socket once the session's connection closed; true when done.
    func releaseIfSessionEnded() -> Bool {
        guard connection.state == .closed else { return false }
        core.driver.closeAuxiliarySockets(execution.release(keeping: []))
        return true
    }

    /// A punch from `address` reached socket `socket` (0 main): the device's NAT has a mapping
    /// toward that socket's, so probe back through it.
    func punched(from address: NetAddress, socket: Int) {
        guard connection.state != .closed,
            let step = execution.punchArrived(from: address, socket: socket, now: EndpointDriver.now())
        else { return }
        perform(step, now: EndpointDriver.now())
        core.driver.requestStep()
    }

    // MARK: plan execution

    private func run() {
        timer = nil
        guard !stopped else { return }
        let now = EndpointDriver.now()
        var acted = false
        while let step = execution.poll(now: now) {
            acted = true
            perform(step, now: now)
        }
        if acted { core.driver.requestStep() }
        if let next = execution.nextDeadline() {
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

    private func perform(_ step: TraversalExecution.Step, now: Instant) {
        switch step {
        case .probe(let address, let attempts, let socket):
            guard connection.state != .closed else { return }
            if let socket, socket != 0 { core.driver.setRoute(address, socket: socket) }
            connection.probePath(to: address, attempts: attempts, now: now)
        case .send(let datagram, let address, let socket):
            core.driver.send(datagram, to: address, socket: socket)
        case .openSockets(let count):
            core.driver.openAuxiliarySockets(count: count).assumeIsolated().whenSuccess { [weak self] indices in
                guard let self else { return }
                self.core.driver.closeAuxiliarySockets(self.execution.socketsOpened(indices))
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
        core.driver.closeAuxiliarySockets(execution.release(keeping: core.driver.auxiliarySocketsInUse()))
    }
}
