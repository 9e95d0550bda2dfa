// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Logging
import NIOCore
import NIOPosix
import T2UCore
import T2UNIO

/// What a started agent owns on its event loop: the one UDP socket (transport + signaling), the
/// discovery sockets and the open sessions. Not Sendable: it lives on `driver.eventLoop`, and
/// the outside reaches it through `RunningDevice` (`NIOLoopBound`).
final class DeviceRuntime {
    let driver: EndpointDriver
    let policy: ForwardingPolicy
    let logger: Logger
    var discovery: [Channel] = []
    /// Maps the agent's UDP port at the gateway (nil: off, or not started yet).
    private var portMapper: EventLoopFuture<GatewayPortMapper>?
    /// The LAN candidates registered before any mapping (loop-confined).
    private var lanCandidates: [NetAddress] = []
    /// Loop-confined.
    private var signaling: SignalingClient?
    private var sessions: [ObjectIdentifier: TunnelService] = [:]
    /// Path discoveries of introduced sessions (until their window ends) and those whose
    /// auxiliary socket still carries a session.
    private var traversals: [UInt64: DeviceTraversal] = [:]
    /// Plan sizes (tests shrink them).
    var traversalConfig = TraversalConfig()
    /// Bounds punches across introductions (loop-confined).
    private var punchBudget = PunchBudget(now: EndpointDriver.now())
    /// The host's subnets (scope of punches); `DeviceAgentOptions.localSubnets` overrides.
    var localSubnets: @Sendable () -> [LocalSubnet] = { LocalAddresses.subnets() }
    /// `DeviceAgentOptions.onRegistered`.
    var onRegistered: (@Sendable () -> Void)?

    init(driver: EndpointDriver, policy: ForwardingPolicy, logger: Logger) {
        self.driver = driver
        self.policy = policy
        self.logger = logger
    }

    var eventLoop: EventLoop { driver.eventLoop }

    /// On the loop: carries `client` on the driver's socket and serves accepted connections.
    func attach(_ client: SignalingClient) {
        eventLoop.preconditionInEventLoop()
        signaling = client
        driver.onAccept = { [self] connection in self.accept(connection) }
        driver.onPunch = { [self] datagram, address, socket in self.punched(datagram, from: address, socket: socket) }
        driver.attachSignaling(client) { [self] event in self.handle(event) }
    }

    /// A client's punch (its auxiliary sockets, birthday probing) reached us: the session it
    /// names answers it once (`DeviceTraversal.answer`), since our own punch toward that port
    /// may have left before the client's mapping existed.
    private func punched(_ datagram: ByteBuffer, from address: NetAddress, socket: Int) {
        guard case (true, let sessionID?) = TraversalPunch.parse(datagram), let traversal = traversals[sessionID] else {
            return
        }
        traversal.answer(address, socket: socket)
    }

    var isRegistered: Bool {
        eventLoop.preconditionInEventLoop()
        return signaling?.status == .registered
    }

    var sessionCount: Int {
        eventLoop.preconditionInEventLoop()
        return sessions.count
    }

    var punchCounters: PunchBudget.Counters {
        eventLoop.preconditionInEventLoop()
        return punchBudget.counters
    }

    private func accept(_ connection: Connection) {
        let tunnel = TunnelService(driver: driver, connection: connection, logger: logger)
        // The server relays this session by connection ID: where a silent direct path falls back to.
        connection.setFallback(signaling?.config.server)
        tunnel.serveIncomingStreams(policy: policy)
        let key = ObjectIdentifier(tunnel)
        sessions[key] = tunnel
        logger.info("session accepted", metadata: ["peer": "\(connection.peerAddress)"])
        tunnel.closed.assumeIsolated().whenComplete { [self] result in
            self.sessions[key] = nil
            self.releaseTraversalSockets()
            if case .success(let reason) = result {
                self.logger.info("session closed", metadata: ["reason": "\(reason)"])
            }
        }
    }

    private func handle(_ event: SignalingClientEvent) {
        switch event {
        case .statusChanged(let status):
            switch status {
            case .registered:
                logger.info("registered with the server")
                onRegistered?()
            case .keyRejected:
                logger.error(
                    "the server's key is not the svrkey we were given (or it could not read our registration); check the key argument against `t2u-server --print-public-key`"
                )
            case .connecting: logger.notice("connecting to the server")
            }
        case .observedAddress(let address):
            logger.debug("server sees us at", metadata: ["address": "\(address)"])
        case .natBehavior(let nat):
            logger.info("NAT behaviour", metadata: ["nat": "\(nat)"])
        case .introduced(let intro):
            logger.info(
                "client introduced",
                metadata: [
                    "session": "\(intro.sessionID)", "client": "\(intro.clientPublicAddress)",
                    "clientNAT": "\(intro.clientNAT)",
                ])
            startTraversal(intro)
        case .relayUnknown:
            // The signaling client already checks our registration; the client resumes the relay.
            logger.debug("the server lost a relay session (restart?)")
        case .unauthenticatedServer(let key):
            logger.warning(
                """
                no svrkey given: the server is not authenticated (an active attacker could stand in for it). \
                Pin it by passing its public key as the key argument
                """, metadata: ["serverPublicKey": "\(Hex.encode(key))"])
        case .registrationRefused(let code):
            if code == .identityConflict {
                logger.error(
                    """
                    the server has UUID \(signaling?.config.uuid ?? "?") bound to another device key: this device cannot register \
                    (restore this device's state file, or ask the operator to release the binding); retrying slowly
                    """)
            } else {
                logger.error("the server refused our registration; retrying slowly", metadata: ["reason": "\(code)"])
            }
        case .serverSilent(let silence):
            logger.warning("\(silence)")
        case .queryResult, .connectResult, .connectSent, .probeResult, .requestFailed:
            break
        }
    }

    /// Opens our NAT toward the client per the plan for both NAT behaviours (the client
    /// validates the paths; its agent drops our punches after probing back).
    private func startTraversal(_ intro: SignalingMessage.Introduce) {
        guard traversals[intro.sessionID] == nil else { return }
        var config = traversalConfig
        config.birthdaySockets = min(config.birthdaySockets, driver.auxiliarySocketsAvailable)
        let traversal = DeviceTraversal(
            intro: intro, localNAT: signaling?.nat ?? .unknown, subnets: localSubnets(), driver: driver, config: config
        ) { [unowned self] address, scope in
            punchBudget.admit(address, scope: scope, now: EndpointDriver.now()) == .send
        }
        traversals[intro.sessionID] = traversal
        if !traversal.droppedCandidates.isEmpty {
            punchBudget.countDroppedCandidates(traversal.droppedCandidates.count)
            logger.info(
                "client candidates outside our subnets are not punched",
                metadata: [
                    "session": "\(intro.sessionID)", "dropped": "\(traversal.droppedCandidates.count)",
                ])
        }
        let clientHost = intro.clientPublicAddress.host
        let server = signaling?.config.server
        traversal.reachedDirectly = { [unowned self] in
            sessions.values.contains {
                $0.connection.peerAddress.host == clientHost && $0.connection.peerAddress != server
            }
        }
        if intro.punchDelay > .zero {
            logger.info(
                "the client sends first this time (its last sessions stayed relayed): punching later",
                metadata: [
                    "session": "\(intro.sessionID)", "ms": "\(intro.punchDelay.value / 1_000_000)",
                ])
        }
        if traversal.strategies.contains(.relayOnly) {
            logger.info(
                "both NATs allocate ports per destination without a pattern: relay only beyond the LAN",
                metadata: ["session": "\(intro.sessionID)"])
        } else if traversal.auxiliarySocketsPlanned > 0 {
            logger.debug(
                "birthday probing",
                metadata: ["session": "\(intro.sessionID)", "sockets": "\(traversal.auxiliarySocketsPlanned)"])
        }
        traversal.start { [self] _ in releaseTraversalSockets() }
    }

    /// Auxiliary sockets of finished plans that no open session's path goes through close.
    private func releaseTraversalSockets() {
        let inUse = Set(sessions.values.map { driver.route(to: $0.connection.peerAddress) }.filter { $0 != 0 })
        for (id, traversal) in traversals where traversal.finished {
            traversal.release(keeping: inUse)
            if traversal.auxiliary.isEmpty { traversals[id] = nil }
        }
    }

    /// Starts mapping `port` at the gateway; each mapped address is registered as a candidate
    /// (first, so clients try it first), in front of the LAN `candidates`.
    func startPortMapping(port: UInt16, candidates: [NetAddress]) {
        eventLoop.preconditionInEventLoop()
        lanCandidates = candidates
        let runtime = NIOLoopBound(self, eventLoop: eventLoop)
        let started = GatewayPortMapper.start(internalPort: port, on: eventLoop, logger: logger) { mapping in
            runtime.value.mappingChanged(mapping)
        }
        started.whenFailure { [logger] error in logger.info("no port mapping", metadata: ["reason": "\(error)"]) }
        portMapper = started
    }

    private func mappingChanged(_ mapping: GatewayMapping?) {
        eventLoop.preconditionInEventLoop()
        guard let signaling else { return }
        var candidates = lanCandidates
        if let mapping, !candidates.contains(mapping.external) { candidates.insert(mapping.external, at: 0) }
        signaling.update(extra: signaling.config.extra, candidates: candidates, now: EndpointDriver.now())
        driver.requestStep()
    }

    /// The gateway mapping, if one was started (deleted first at shutdown).
    var gatewayPortMapper: EventLoopFuture<GatewayPortMapper>? { portMapper }

    /// The device password for handshakes from now on; open sessions keep their keys.
    func update(password: [UInt8]) {
        eventLoop.preconditionInEventLoop()
        driver.endpoint.update(password: password)
    }

    /// The vendor certificate for the next registration (the current one stays valid).
    func update(certificate: [UInt8]) throws(SignalingClientConfig.Invalid) {
        eventLoop.preconditionInEventLoop()
        try signaling?.update(certificate: certificate)
    }

    /// Tells every session to close and ends the traversals; returns how many sessions were open.
    func closeAllSessions() -> Int {
        for traversal in traversals.values { traversal.finish() }
        for tunnel in sessions.values { _ = tunnel.close() }
        return sessions.count
    }
}
