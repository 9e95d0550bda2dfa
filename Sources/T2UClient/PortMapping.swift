// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Logging
import NIOCore
import T2UCore
import T2UNIO

/// One mapped port: its local listener (bound for the port's whole life) and the P2P link
/// behind it, rebuilt with backoff after failures. Confined to the SDK loop.
///
/// An attempt is ONE connection, and its first flight is the CONNECT, naming the connection ID
/// the server will relay by. With the device's key pinned, the handshake initiation leaves right
/// behind it, to the relay: the server has the session by then and forwards it with the
/// introduction, so the device answers within one round trip and the first stream bytes go with
/// the first authenticated flight. Without a pin (first contact) the CONNECT answer brings the
/// key (trusted on first use) and the handshake starts then. The answer's device addresses (its
/// reflexive one, then LAN candidates) get the initiation too; the first reply, from either
/// path, establishes the link. Once established, `ClientTraversal` probes for direct paths
/// inside the same connection; each validated path that is strictly better (LAN > direct WAN >
/// relay) becomes the path (`Connection.migrate`), never a worse one. A caller that excludes the
/// relay gets the handshake to the device's addresses only.
final class PortMapping {
    unowned let core: ClientCore
    let localPort: UInt16
    let request: PortMappingRequest
    let listener: TunnelPortListener
    private(set) var status: PortStatus = .connecting
    /// The established link, if any.
    private(set) var current: TunnelService?
    /// This attempt's connection while it handshakes.
    private var pending: TunnelService?
    /// Which path the link should be on (what each address is, when discovery stops).
    private var selection: PathSelection
    private var connectResult: SignalingMessage.ConnectResult?
    /// This attempt's link came up / its final path went to the server (punch-outcome metrics).
    private var linkCameUp = false
    /// Device addresses whose punch already re-sent our handshake (once each: no amplification).
    private var handshakeNudgedBy: Set<NetAddress> = []
    private var outcomeReported = false
    private var traversal: ClientTraversal?
    private var traversalWindowTask: Scheduled<Void>?
    /// Bumped whenever an attempt ends, so late callbacks of old attempts are ignored.
    private var generation = 0
    private var attemptStartedAt = NIODeadline.now()
    private var retryDelay: TimeAmount
    private var retryTask: Scheduled<Void>?
    /// While the link rides the relay: the next look for a direct path, and the wait after it.
    private var relayedRetryTask: Scheduled<Void>?
    private var relayedRetry: RelayedLinkRetry
    private var meter: RateMeter
    private var closed = false
    /// A relay resume is in flight (one at a time).
    private var resuming = false

    /// How often a refused resume is tried again (the device may not have re-registered yet),
    /// and for how long: well inside the transport's dead-peer window.
    static let resumeRetry: TimeAmount = .milliseconds(250)
    static let resumeWindow: TimeAmount = .seconds(8)

    /// How long the traversal may look for a better path once the link is direct.
    static let traversalWindow: TimeAmount = .seconds(5)

    /// While a handshake waits, how often the server is asked whether the device is still
    /// online: a dead device's attempt ends with -4 as soon as the server expired its agent,
    /// not at the handshake timeout.
    static let onlineRecheck: TimeAmount = .seconds(1)

    init(core: ClientCore, localPort: UInt16, request: PortMappingRequest, listener: TunnelPortListener) {
        self.core = core
        self.localPort = localPort
        self.request = request
        self.listener = listener
        self.retryDelay = .nanoseconds(core.options.firstRetryDelay.value)
        self.selection = PathSelection(relay: core.serverAddress, directDisabled: core.options.directDisabled)
        self.relayedRetry = RelayedLinkRetry(
            first: core.options.relayedLinkRetry, maximum: core.options.relayedLinkRetryMax)
        self.meter = RateMeter(now: .now())
    }

    private var logger: Logger { core.logger }
    private var password: [UInt8]? { request.password.map { Array($0.utf8) } }
    private var millisSinceAttemptStart: Int { Int((NIODeadline.now() - attemptStartedAt).nanoseconds / 1_000_000) }

    func start() {
        attemptStartedAt = .now()
        attempt()
    }

    // MARK: attempts

    private func attempt() {
        guard !closed else { return }
        generation += 1
        let generation = self.generation
        // A changed key stays visible (-6) while retries find it still changed.
        if status != .deviceKeyChanged { status = .connecting }
        selection.reset()
        connectResult = nil
        linkCameUp = false
        outcomeReported = false
        handshakeNudgedBy = []
        // The connection enforces the caller's paths itself (device punches included).
        let policy = core.options.pathPolicy(relay: core.serverAddress) ?? .relayOnly(relay: core.serverAddress)
        let relay = core.serverAddress
        let throughRelay = policy.allows(relay, established: false)
        let connectionID = core.driver.endpoint.unusedConnectionID()
        // A pinned key lets the initiation leave right behind the CONNECT (the server relays it
        // by this ID once the CONNECT made the session): the device answers within one round trip.
        let pinned = throughRelay ? core.pinnedKey(for: request.uuid) : nil
        let sent: (() -> Void)? = pinned.map { key in
            { [self] in
                guard generation == self.generation, !closed, pending == nil, current == nil else { return }
                open(key: key, to: relay, connectionID: connectionID, policy: policy)
            }
        }
        core.connect(request.uuid, connectionID: connectionID, sent: sent) { [self] result in
            guard generation == self.generation, !self.closed else { return }
            switch result {
            case .failure(.server(.deviceOffline)):
                fail(.deviceOffline)
            case .failure(let failure):
                logger.info("CONNECT failed", metadata: ["uuid": "\(request.uuid)", "error": "\(failure)"])
                fail(.p2pFailed)
            case .success(let result) where !result.online:
                fail(.deviceOffline)
            case .success(let result):
                connected(result, connectionID: connectionID, policy: policy, throughRelay: throughRelay)
            }
        }
    }

    /// The CONNECT answer: the device's key (trusted on first use), its reflexive address and
    /// LAN candidates. Without a pinned key the handshake starts now; either way the candidates
    /// join the race and discovery may begin.
    private func connected(
        _ result: SignalingMessage.ConnectResult, connectionID: ConnectionID, policy: PathPolicy,
        throughRelay: Bool
    ) {
        guard accept(result.devicePublicKey) else { return }
        connectResult = result
        selection.introduced(deviceAddresses: result.deviceCandidates, localSubnets: LocalAddresses.subnets())
        if let pending, pending.connection.peerStaticKey != result.devicePublicKey {
            // Only if the pin changed between the CONNECT and its answer: start over.
            logger.warning(
                "device key differs from the one the handshake started with", metadata: ["uuid": "\(request.uuid)"])
            return fail(.p2pFailed)
        }
        if pending == nil, current == nil {
            guard let first = throughRelay ? core.serverAddress : selection.deviceReflexive else {
                logger.info(
                    "the device has no address to try and the relay is excluded", metadata: ["uuid": "\(request.uuid)"])
                return fail(.p2pFailed)
            }
            guard open(key: result.devicePublicKey, to: first, connectionID: connectionID, policy: policy) else {
                return
            }
        }
        if let tunnel = pending, tunnel.connection.state == .handshaking, result.punchDelay == .zero || !throughRelay {
            // The device's addresses join the race (its LAN ones: same LAN, no hairpin needed);
            // not when the device is to send first (`PunchOrder`): our traversal then waits.
            let now = EndpointDriver.now()
            for candidate in result.deviceCandidates.prefix(5) {
                tunnel.connection.sendHandshake(alsoTo: candidate, now: now)
            }
            core.driver.requestStep()
        }
        startTraversal()
    }

    /// The attempt's one connection, with the ID the CONNECT named; false when it could not start.
    @discardableResult
    private func open(key: [UInt8], to first: NetAddress, connectionID: ConnectionID, policy: PathPolicy) -> Bool {
        let connection: Connection
        do {
            connection = try core.driver.connect(
                to: SocketAddress(first), remoteStaticKey: key, password: password,
                pathPolicy: policy, localConnectionID: connectionID)
        } catch {
            logger.info("cannot start a connection", metadata: ["error": "\(error)"])
            fail(.p2pFailed)
            return false
        }
        let tunnel = TunnelService(driver: core.driver, connection: connection, logger: logger)
        pending = tunnel
        watch(tunnel, generation: generation)
        recheckOnline(generation: generation)
        return true
    }

    private func recheckOnline(generation: Int) {
        _ = core.loop.assumeIsolated().scheduleTask(in: Self.onlineRecheck) { [self] in
            guard generation == self.generation, !closed, current == nil, pending != nil else { return }
            core.query(request.uuid) { [self] result in
                guard generation == self.generation, !self.closed, self.current == nil else { return }
                if case .success(let info) = result, !info.online { return fail(.deviceOffline) }
                recheckOnline(generation: generation)
            }
        }
    }

    private func watch(_ tunnel: TunnelService, generation: Int) {
        tunnel.onTargetReply = { [self] target, status in
            if status != .ok {
                logger.info("device refused a stream target", metadata: ["target": "\(target)", "status": "\(status)"])
            }
        }
        tunnel.onPathValidated = { [self] address in
            guard generation == self.generation, self.current === tunnel else { return }
            pathValidated(address, on: tunnel)
        }
        tunnel.onPathChanged = { [self] address in
            guard generation == self.generation, self.current === tunnel else { return }
            pathChanged(to: address)
        }
        tunnel.established.assumeIsolated().whenSuccess { [self] in
            guard generation == self.generation, !self.closed, current == nil else {
                _ = tunnel.close()
                return
            }
            won(tunnel)
        }
        tunnel.closed.assumeIsolated().whenSuccess { [self] reason in
            if self.pending === tunnel { self.pending = nil }
            if self.current === tunnel {
                linkEnded(tunnel, reason: reason)
                return
            }
            guard generation == self.generation, !self.closed, self.current == nil else { return }
            if reason == .passwordRejected {
                fail(.passwordRejected)
            } else {
                logger.info("connection closed before it was up", metadata: ["reason": "\(reason)"])
                fail(.p2pFailed)
            }
        }
    }

    private func won(_ tunnel: TunnelService) {
        current = tunnel
        linkCameUp = true
        pending = nil
        status = .connected
        retryDelay = .nanoseconds(core.options.firstRetryDelay.value)
        listener.setTunnel(tunnel)
        // A direct path that goes silent falls back to the relay inside this connection (unless
        // the caller excluded the relay: the connection refuses it then).
        tunnel.connection.setFallback(core.serverAddress)
        let millis = millisSinceAttemptStart
        let peer = tunnel.connection.peerAddress
        logger.info(
            "link up",
            metadata: ["port": "\(localPort)", "peer": "\(peer)", "path": "\(pathKind(peer))", "ms": "\(millis)"])
        core.emit(.connected(localPort: localPort, setupMillis: millis))
        startTraversal()
    }

    // MARK: path selection

    private func pathKind(_ address: NetAddress) -> PathKind { selection.kind(of: address) }

    /// Discovery starts once the link is up and the CONNECT result (the candidates) is known.
    private func startTraversal() {
        guard traversal == nil, let tunnel = current, let connectResult else { return }
        let peer = tunnel.connection.peerAddress
        guard selection.wantsDiscovery(from: peer) else { return reportOutcome(pathKind(peer)) }
        let traversal = ClientTraversal(
            core: core, connection: tunnel.connection, uuid: request.uuid,
            reflexive: selection.deviceReflexive, connectResult: connectResult)
        self.traversal = traversal
        selection.discoveryStarted()
        let generation = self.generation
        // A plan the server told to wait (`PunchOrder`) gets its whole window after the wait.
        let window = Self.traversalWindow + .nanoseconds(connectResult.punchDelay.value)
        traversalWindowTask = core.loop.assumeIsolated().scheduleTask(in: window) { [self] in
            guard generation == self.generation else { return }
            selection.discoveryWindowEnded()
            stopTraversalIfSettled()
            if let peer = current?.connection.peerAddress, pathKind(peer) == .relay {
                self.traversal?.settled(on: nil)
                reportOutcome(.relay)
                scheduleRelayedRetry()
            }
        }
        let delay = core.options.pathDiscoveryDelay
        if delay > .zero {
            _ = core.loop.assumeIsolated().scheduleTask(in: .nanoseconds(delay.value)) { [weak traversal, self] in
                guard generation == self.generation, let traversal, self.traversal === traversal else { return }
                traversal.start()
            }
        } else {
            traversal.start()
        }
    }

    private func pathValidated(_ address: NetAddress, on tunnel: TunnelService) {
        let connection = tunnel.connection
        guard connection.state == .established, selection.improves(address, on: connection.peerAddress) else { return }
        connection.migrate(to: address, now: EndpointDriver.now())
        core.driver.requestStep()
        traversal?.settled(on: address)
    }

    private func pathChanged(to address: NetAddress) {
        let kind = pathKind(address)
        let millis = millisSinceAttemptStart
        logger.info(
            "path changed",
            metadata: ["port": "\(localPort)", "peer": "\(address)", "path": "\(kind)", "ms": "\(millis)"])
        core.emit(.pathChanged(localPort: localPort, relayed: kind == .relay, lan: kind == .lan, millis: millis))
        if kind == .relay {
            // A direct path went silent and the connection fell back: look again later.
            scheduleRelayedRetry()
        } else {
            cancelRelayedRetry()
        }
        stopTraversalIfSettled()
    }

    /// Nothing beats LAN; a direct path is kept once the discovery window is over.
    private func stopTraversalIfSettled() {
        guard let traversal, let peer = current?.connection.peerAddress, selection.settled(on: peer) else { return }
        traversal.stop(keep: peer)
        self.traversal = nil
        traversalWindowTask?.cancel()
        traversalWindowTask = nil
        reportOutcome(pathKind(peer))
    }

    /// The device's punch for our session came from a known address of it while the handshake
    /// is in flight: its NAT is open toward us now, so the initiation goes there again at once
    /// instead of at the next retransmission (by then the relay would carry the link).
    func devicePunched(sessionID: UInt64, from address: NetAddress) {
        guard let connection = pending?.connection, connection.state == .handshaking,
            let connectResult, connectResult.sessionID == sessionID,
            address == selection.deviceReflexive || connectResult.deviceCandidates.contains(address),
            handshakeNudgedBy.insert(address).inserted
        else { return }
        connection.sendHandshake(alsoTo: address, now: EndpointDriver.now())
        core.driver.requestStep()
    }

    /// Tells the server, once per attempt, where the link settled (its punch-outcome metrics by
    /// NAT pair); an attempt whose link never came up after CONNECT reports `failed`.
    private func reportOutcome(_ kind: PathKind?) {
        guard !outcomeReported, let sessionID = connectResult?.sessionID else { return }
        outcomeReported = true
        let path: SignalingPathKind
        switch kind {
        case .lan: path = .lan
        case .direct: path = .direct
        case .relay: path = .relay
        case nil: path = .failed
        }
        _ = core.signaling.report(sessionID: sessionID, path: path, now: EndpointDriver.now())
        core.driver.requestStep()
    }

    private func endTraversal() {
        traversal?.stop(keep: nil)
        traversal = nil
        traversalWindowTask?.cancel()
        traversalWindowTask = nil
    }

    private func linkEnded(_ tunnel: TunnelService, reason: ConnectionCloseReason) {
        let stats = tunnel.connection.stats
        meter.connectionEnded(received: stats.streamBytesReceived, sent: stats.streamBytesSent)
        current = nil
        listener.setTunnel(nil)
        guard !closed else { return }
        logger.info("link interrupted", metadata: ["port": "\(localPort)", "reason": "\(reason)"])
        fail(reason == .passwordRejected ? .passwordRejected : .interrupted)
    }

    /// Whether the device's key may be used: pinned now or before. Otherwise the attempt ends:
    /// -6 for a changed key, -2 when the known-devices file cannot be used (fail closed).
    private func accept(_ key: [UInt8]) -> Bool {
        switch core.trustDeviceKey(key, for: request.uuid) {
        case .trusted, .pinnedNow:
            return true
        case .changed(let change):
            logger.error(
                "\(change)",
                metadata: [
                    "uuid": "\(change.uuid)", "pinned": "\(Hex.encode(change.pinnedKey))",
                    "presented": "\(Hex.encode(change.presentedKey))",
                    "file": "\(change.path ?? "memory")", "line": "\(change.line)",
                ])
            core.emit(.deviceKeyChanged(localPort: localPort, change))
            fail(.deviceKeyChanged)
            return false
        case .failed(let error):
            logger.error("\(error)", metadata: ["uuid": "\(request.uuid)"])
            fail(.p2pFailed)
            return false
        }
    }

    /// Ends the attempt with `code`, reports it and schedules the retry (not after -5).
    private func fail(_ code: PortStatus) {
        if !linkCameUp { reportOutcome(nil) }
        generation += 1
        endTraversal()
        cancelRelayedRetry()
        if let pending { _ = pending.close() }
        pending = nil
        status = code
        core.emit(.disconnected(localPort: localPort, code: code.rawValue))
        guard code != .passwordRejected, !closed else { return }
        let delay = retryDelay
        retryDelay = min(retryDelay * 2, .nanoseconds(core.options.retryInterval.value))
        retryTask?.cancel()
        retryTask = core.loop.assumeIsolated().scheduleTask(in: delay) { [self] in
            retryTask = nil
            attemptStartedAt = .now()
            attempt()
        }
    }

    // MARK: rediscovery

    /// UDP to the server works again after the TCP/TLS fallback carried our traffic. A link that
    /// came up relayed while UDP was blocked was introduced to the device with our TCP address,
    /// so nothing could punch through: look again at once, the relay verdict forgotten.
    func serverReachableOverUDPAgain() {
        lookForDirectPath(because: "UDP works again", forgetRelayVerdict: true)
    }

    /// The next look for a direct path of a relayed link (`RelayedLinkRetry`).
    private func scheduleRelayedRetry() {
        guard relayedRetryTask == nil, !core.options.directDisabled, !closed, let look = relayedRetry.next() else {
            return
        }
        let generation = self.generation
        relayedRetryTask = core.loop.assumeIsolated().scheduleTask(in: .nanoseconds(look.delay.value)) { [self] in
            relayedRetryTask = nil
            guard generation == self.generation else { return }
            lookForDirectPath(because: "the link has been relayed for a while", forgetRelayVerdict: look.everyStrategy)
        }
    }

    private func cancelRelayedRetry() {
        relayedRetryTask?.cancel()
        relayedRetryTask = nil
        relayedRetry.reset()
    }

    /// A fresh CONNECT (a new session, no new connection), sent over UDP, makes the server
    /// introduce us to the device again with the addresses both sides have now, and path
    /// discovery runs again inside the same connection: the streams carry on and move to a
    /// direct path if one validates. A remembered relay verdict (`TraversalMemory`, 5 min) keeps
    /// a periodic look to the cheap candidates; `forgetRelayVerdict` runs every NAT strategy.
    private func lookForDirectPath(because why: String, forgetRelayVerdict: Bool) {
        guard !closed, !core.options.directDisabled, let tunnel = current, tunnel.connection.state == .established,
            pathKind(tunnel.connection.peerAddress) == .relay
        else { return }
        let generation = self.generation
        let key = tunnel.connection.peerStaticKey
        logger.info(
            "looking for a direct path for the relayed link", metadata: ["port": "\(localPort)", "why": "\(why)"])
        core.connect(request.uuid, connectionID: core.driver.endpoint.unusedConnectionID()) { [self] result in
            guard isOurs(generation, tunnel), pathKind(tunnel.connection.peerAddress) == .relay else { return }
            guard case .success(let answer) = result, answer.online, answer.devicePublicKey == key else {
                logger.info(
                    "no new introduction to the device; the link stays relayed",
                    metadata: [
                        "port": "\(localPort)", "answer": "\(result)",
                    ])
                scheduleRelayedRetry()
                return
            }
            endTraversal()
            if forgetRelayVerdict { core.traversalMemory.forgetRelayOnly(for: request.uuid) }
            connectResult = answer
            selection.introduced(deviceAddresses: answer.deviceCandidates, localSubnets: LocalAddresses.subnets())
            // The new session's outcome is reported as well (the server counts it per session).
            outcomeReported = false
            startTraversal()
        }
    }

    // MARK: relay resume

    /// The server has no relay session for the device side `deviceConnectionID` (it restarted).
    /// If that is our established link over the relay, CONNECT again for the same connection
    /// naming both IDs (a resume): the server restores the session and the link goes on.
    func relaySessionLost(deviceConnectionID: ConnectionID) {
        guard !closed, !resuming, let tunnel = current, tunnel.connection.state == .established,
            tunnel.connection.remoteConnectionID == deviceConnectionID,
            pathKind(tunnel.connection.peerAddress) == .relay
        else { return }
        resuming = true
        logger.info("the server lost our relay session; resuming", metadata: ["port": "\(localPort)"])
        resume(tunnel, until: .now() + Self.resumeWindow)
    }

    private func resume(_ tunnel: TunnelService, until deadline: NIODeadline) {
        let generation = self.generation
        let connection = tunnel.connection
        // Where the device was registered (CONNECT lists it first): an idle device may not have
        // noticed the restart, and the server nudges it there.
        let deviceAddress = connectResult?.deviceCandidates.first ?? selection.deviceReflexive
        core.connect(
            request.uuid, connectionID: connection.localConnectionID, resume: connection.remoteConnectionID,
            resumeAddress: deviceAddress
        ) { [self] result in
            guard isOurs(generation, tunnel) else {
                resuming = false
                return
            }
            if case .success(let answer) = result, answer.online {
                resuming = false
                logger.info(
                    "relay session resumed", metadata: ["port": "\(localPort)", "session": "\(answer.sessionID)"])
                return
            }
            // Offline (the device has not re-registered yet) or refused: again shortly.
            guard NIODeadline.now() + Self.resumeRetry < deadline else {
                resuming = false
                logger.info("relay session not resumed", metadata: ["port": "\(localPort)", "last": "\(result)"])
                return
            }
            _ = core.loop.assumeIsolated().scheduleTask(in: Self.resumeRetry) { [self] in
                guard isOurs(generation, tunnel) else {
                    resuming = false
                    return
                }
                resume(tunnel, until: deadline)
            }
        }
    }

    /// The resume of `tunnel` begun in `generation` still applies. A method, not a closure the
    /// callbacks share: the scheduled task is @Sendable and copies only the values it checks.
    private func isOurs(_ generation: Int, _ tunnel: TunnelService) -> Bool {
        generation == self.generation && !closed && current === tunnel
    }

    // MARK: status, rates, close

    var pathInfo: PathInfo? {
        guard status == .connected, let connection = current?.connection else { return nil }
        let peer = connection.peerAddress
        let stats = connection.stats
        return PathInfo(
            peerIP: peer.hostString, peerPort: Int(peer.port), relayed: pathKind(peer) == .relay,
            lan: pathKind(peer) == .lan,
            lossRate: Float(stats.lossRate), bandwidthKBps: Int(stats.estimatedBandwidth / 1024),
            rttMillis: stats.smoothedRtt.milliseconds, relayReason: pathKind(peer) == .relay ? relayFacts.reason : nil)
    }

    /// What the client knows about why this link is relayed.
    private var relayFacts: RelayFacts {
        let discovery: RelayFacts.Discovery
        if let traversal {
            discovery =
                selection.windowEnded ? .ended(tried: traversal.tried.count) : .running(tried: traversal.tried.count)
        } else {
            discovery = .notStarted
        }
        var refused: String?
        if let tried = traversal?.tried, !tried.isEmpty {
            let failures = tried.compactMap { core.refusedSends[$0] }
            if failures.count == tried.count { refused = failures.first?.errnoName }
        }
        return RelayFacts(
            directDisabled: core.options.directDisabled, localNAT: core.signaling.nat,
            peerNAT: connectResult?.deviceNAT ?? .unknown, peerCandidates: connectResult?.deviceCandidates.count ?? 0,
            rememberedRelay: traversal?.rememberedRelay ?? false, discovery: discovery, allTriedRefused: refused)
    }

    private var totals: RateMeter.Totals {
        let stats = current?.connection.stats
        return meter.totals(
            current: .init(received: stats?.streamBytesReceived ?? 0, sent: stats?.streamBytesSent ?? 0))
    }

    func sampleRates(now: NIODeadline) {
        meter.sample(totals, now: now)
    }

    var rate: RateInfo { meter.info(totals, now: .now()) }

    func close() {
        guard !closed else { return }
        closed = true
        generation += 1
        retryTask?.cancel()
        retryTask = nil
        cancelRelayedRetry()
        endTraversal()
        listener.close()
        if let pending { _ = pending.close() }
        pending = nil
        if let current { _ = current.close() }
    }
}
