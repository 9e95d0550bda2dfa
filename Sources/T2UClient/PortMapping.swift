import Logging
import NIOCore
import T2UCore
import T2UNIO

/// One mapped port: its local listener (bound for the port's whole life) and the P2P link
/// behind it, rebuilt with backoff after failures. Confined to the SDK loop.
///
/// An attempt: QUERY the device (online? its key, trusted on first use, and public address);
/// start a direct handshake to that reflexive address and CONNECT naming its connection ID (the
/// server introduces us; the result adds the device's other candidates, each raced too). After
/// `relayDeadline` without an established link, a relayed connection to the server's main
/// address joins the race with a CONNECT of its own (the relay routes by the ID CONNECT named).
/// The first connection to establish wins; the others are closed.
final class PortMapping: @unchecked Sendable {
    unowned let core: ClientCore
    let localPort: UInt16
    let request: PortMappingRequest
    let listener: TunnelPortListener
    private(set) var status: PortStatus = .connecting
    /// The established link, if any.
    private(set) var current: TunnelService?
    private var racing: [TunnelService] = []
    private var pendingConnects = 0
    /// The relay candidate was started (or was never going to be).
    private var relayStarted = false
    private var relayTask: Scheduled<Void>?
    /// Bumped whenever an attempt ends, so late callbacks of old attempts are ignored.
    private var generation = 0
    private var attemptStartedAt = NIODeadline.now()
    private var retryDelay: TimeAmount
    private var retryTask: Scheduled<Void>?
    private var meter: RateMeter
    private var closed = false

    init(core: ClientCore, localPort: UInt16, request: PortMappingRequest, listener: TunnelPortListener) {
        self.core = core
        self.localPort = localPort
        self.request = request
        self.listener = listener
        self.retryDelay = .nanoseconds(core.options.firstRetryDelay.value)
        self.meter = RateMeter(now: .now())
    }

    private var logger: Logger { core.logger }
    private var password: [UInt8]? { request.password.map { Array($0.utf8) } }

    func start() {
        attemptStartedAt = .now()
        attempt()
    }

    // MARK: attempts

    private func attempt() {
        guard !closed else { return }
        generation += 1
        let generation = self.generation
        status = .connecting
        relayStarted = false
        core.query(request.uuid) { [self] result in
            guard generation == self.generation, !self.closed else { return }
            switch result {
            case .failure(let failure):
                logger.info("device query failed", metadata: ["uuid": "\(request.uuid)", "error": "\(failure)"])
                fail(.p2pFailed)
            case .success(let info) where !info.online:
                fail(.deviceOffline)
            case .success(let info):
                guard core.trust(info.publicKey, for: request.uuid) else { return keyMismatch() }
                race(key: info.publicKey, reflexive: info.publicAddress)
            }
        }
    }

    /// Direct first (the device's public address, then its other candidates from CONNECT);
    /// the relay joins after `relayDeadline` unless a direct path is up by then.
    private func race(key: [UInt8], reflexive: NetAddress?) {
        let generation = self.generation
        if !core.options.directDisabled, let reflexive, let direct = open(to: reflexive, key: key, generation: generation) {
            introduce(direct.connection.localConnectionID, key: key, generation: generation) { [self] result in
                for candidate in result.deviceCandidates.prefix(4) where candidate != reflexive {
                    _ = open(to: candidate, key: key, generation: generation)
                }
            }
            relayTask = core.loop.scheduleTask(in: .nanoseconds(core.options.relayDeadline.value)) { [self] in
                startRelay(key: key, generation: generation)
            }
        } else {
            startRelay(key: key, generation: generation)
        }
    }

    /// A relayed connection through the server's main address, introduced by its own CONNECT
    /// (the server relays by the connection ID that CONNECT named).
    private func startRelay(key: [UInt8], generation: Int) {
        guard generation == self.generation, !closed, current == nil else { return }
        relayStarted = true
        guard let relay = open(to: core.serverAddress, key: key, generation: generation) else {
            return checkRaceLost()
        }
        introduce(relay.connection.localConnectionID, key: key, generation: generation) { _ in }
    }

    private func open(to address: NetAddress, key: [UInt8], generation: Int) -> TunnelService? {
        do {
            let connection = try core.driver.connect(to: SocketAddress(address), remoteStaticKey: key, password: password)
            let tunnel = TunnelService(driver: core.driver, connection: connection, logger: logger)
            watch(tunnel, generation: generation)
            return tunnel
        } catch {
            logger.debug("cannot start a connection", metadata: ["to": "\(address)", "error": "\(error)"])
            return nil
        }
    }

    /// CONNECT naming `connectionID`; failures end the attempt.
    private func introduce(_ connectionID: ConnectionID, key: [UInt8], generation: Int,
                           then: @escaping (SignalingMessage.ConnectResult) -> Void) {
        pendingConnects += 1
        core.connect(request.uuid, connectionID: connectionID) { [self] result in
            guard generation == self.generation, !self.closed else { return }
            pendingConnects -= 1
            guard current == nil else { return }
            switch result {
            case .failure(.server(.deviceOffline)):
                fail(.deviceOffline)
            case .failure(let failure):
                logger.info("CONNECT failed", metadata: ["uuid": "\(request.uuid)", "error": "\(failure)"])
                fail(.p2pFailed)
            case .success(let result) where !result.online:
                fail(.deviceOffline)
            case .success(let result):
                guard core.trust(result.devicePublicKey, for: request.uuid), result.devicePublicKey == key else {
                    return keyMismatch()
                }
                then(result)
                checkRaceLost()
            }
        }
    }

    private func watch(_ tunnel: TunnelService, generation: Int) {
        racing.append(tunnel)
        tunnel.onTargetReply = { [self] target, status in
            if status != .ok {
                logger.info("device refused a stream target", metadata: ["target": "\(target)", "status": "\(status)"])
            }
        }
        tunnel.established.whenSuccess { [self] in
            guard generation == self.generation, !self.closed, current == nil else {
                _ = tunnel.close()
                return
            }
            won(tunnel)
        }
        tunnel.closed.whenSuccess { [self] reason in
            self.racing.removeAll { $0 === tunnel }
            if self.current === tunnel {
                linkEnded(tunnel, reason: reason)
                return
            }
            guard generation == self.generation, !self.closed, self.current == nil else { return }
            if reason == .passwordRejected {
                fail(.passwordRejected)
            } else {
                logger.debug("candidate connection closed", metadata: ["reason": "\(reason)"])
                checkRaceLost()
            }
        }
    }

    /// Every candidate closed without establishing and no more will come.
    private func checkRaceLost() {
        if racing.isEmpty && pendingConnects == 0 && relayStarted && current == nil { fail(.p2pFailed) }
    }

    private func won(_ tunnel: TunnelService) {
        current = tunnel
        relayTask?.cancel()
        relayTask = nil
        for other in racing where other !== tunnel { _ = other.close() }
        racing.removeAll { $0 !== tunnel }
        status = .connected
        retryDelay = .nanoseconds(core.options.firstRetryDelay.value)
        listener.setTunnel(tunnel)
        let millis = Int((NIODeadline.now() - attemptStartedAt).nanoseconds / 1_000_000)
        logger.info("link up", metadata: ["port": "\(localPort)", "peer": "\(tunnel.connection.peerAddress)", "ms": "\(millis)"])
        core.emit(.connected(localPort: localPort, setupMillis: millis))
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

    private func keyMismatch() {
        logger.error("device key differs from the one seen before; refusing", metadata: ["uuid": "\(request.uuid)"])
        fail(.p2pFailed)
    }

    /// Ends the attempt with `code`, reports it and schedules the retry (not after -5).
    private func fail(_ code: PortStatus) {
        generation += 1
        pendingConnects = 0
        relayTask?.cancel()
        relayTask = nil
        let losers = racing
        racing.removeAll()
        for tunnel in losers { _ = tunnel.close() }
        status = code
        core.emit(.disconnected(localPort: localPort, code: code.rawValue))
        guard code != .passwordRejected, !closed else { return }
        let delay = retryDelay
        retryDelay = min(retryDelay * 2, .nanoseconds(core.options.retryInterval.value))
        retryTask?.cancel()
        retryTask = core.loop.scheduleTask(in: delay) { [self] in
            retryTask = nil
            attemptStartedAt = .now()
            attempt()
        }
    }

    // MARK: status, rates, close

    var pathInfo: PathInfo? {
        guard status == .connected, let connection = current?.connection else { return nil }
        let peer = connection.peerAddress
        let stats = connection.stats
        return PathInfo(
            peerIP: peer.hostString, peerPort: Int(peer.port), relayed: peer == core.serverAddress, lan: false,
            lossRate: Float(stats.lossRate), bandwidthKBps: Int(stats.estimatedBandwidth / 1024),
            rttMillis: stats.smoothedRtt.milliseconds)
    }

    private var totals: RateMeter.Totals {
        let stats = current?.connection.stats
        return meter.totals(current: .init(received: stats?.streamBytesReceived ?? 0, sent: stats?.streamBytesSent ?? 0))
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
        relayTask?.cancel()
        relayTask = nil
        listener.close()
        for tunnel in racing { _ = tunnel.close() }
        racing.removeAll()
        if let current { _ = current.close() }
    }
}
