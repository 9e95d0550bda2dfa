// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Logging
import NIOCore
import NIOPosix
import T2UCore
import T2UNIO

/// The SDK's state, confined to its one event loop (the "SDK thread"): the agent's driver with
/// the signaling client on the same UDP socket, the mapped ports, pending requests, the
/// trust-on-first-use device keys and the event sinks.
final class ClientCore {
    let options: T2UClientOptions
    let loop: EventLoop
    let driver: EndpointDriver
    let signaling: SignalingClient
    /// The server registered with now (relayed connections go through it).
    var serverAddress: NetAddress { signaling.config.server }
    let logger: Logger
    private(set) var ports: [UInt16: PortMapping] = [:]
    /// Device keys pinned (trust on first use), in the known-devices file or in memory.
    private var pins: DevicePins
    private var queryWaiters: [UInt32: (Result<SignalingMessage.QueryResult, SignalingRequestFailure>) -> Void] = [:]
    private var connectWaiters: [UInt32: (Result<SignalingMessage.ConnectResult, SignalingRequestFailure>) -> Void] =
        [:]
    /// Called when a CONNECT is first written (the handshake that rides the relay behind it).
    private var connectSentWaiters: [UInt32: () -> Void] = [:]
    private var eventHandler: (@Sendable (T2UClientEvent) -> Void)?
    private let continuation: AsyncStream<T2UClientEvent>.Continuation
    private var sampler: RepeatedTask?
    /// Per-device memory of the traversal strategy that worked.
    var traversalMemory = TraversalMemory()
    /// Running path discoveries by session ID (punches name it).
    var traversals: [UInt64: ClientTraversal] = [:]
    /// Stopped traversals whose auxiliary socket carries a session, until it closes.
    var retainedTraversals: [ClientTraversal] = []
    /// Our LAN addresses with the bound port: sent in CONNECT.
    private(set) var lanCandidates: [NetAddress] = []
    /// The last send the kernel refused per destination (`PathInfo.relayReason`: "UDP to peer
    /// blocked"). Bounded: cleared when it grows past `refusedLimit`.
    private(set) var refusedSends: [NetAddress: SendFailure] = [:]
    static let refusedLimit = 256
    private(set) var isShutDown = false

    /// `servers`: non-empty; the first is tried first, the others when it stops answering.
    init(
        options: T2UClientOptions, loop: EventLoop, servers: [NetAddress],
        continuation: AsyncStream<T2UClientEvent>.Continuation,
        logger: Logger
    ) throws {
        self.options = options
        self.loop = loop
        let serverAddress = servers.first ?? NetAddress(ipv4: (127, 0, 0, 1), port: 7000)
        self.continuation = continuation
        self.logger = logger
        do {
            pins = try DevicePins(location: options.knownDevices)
        } catch {
            throw T2UClientError.knownDevices(error)
        }
        let entropy = SystemEntropy()
        let identity = StaticIdentity.generate(entropy)
        driver = EndpointDriver(
            endpoint: TransportEndpoint(
                options: .init(config: options.transport, identity: identity, acceptIncoming: false), entropy: entropy),
            eventLoop: loop, logger: logger)
        var observation = serverAddress
        observation.port &+= 1
        let serverPublicKey: [UInt8]?
        do {
            serverPublicKey = try ServerPublicKey.parse(options.serverKey)
        } catch {
            throw T2UClientError.invalidArgument(ServerPublicKey.requirement)
        }
        var config = SignalingClientConfig(
            role: .client, uuid: "client-" + Self.randomHex(entropy), identity: identity,
            serverPublicKey: serverPublicKey, server: serverAddress, observationServer: observation)
        config.requestTimeout = .seconds(5)
        config.fallbackServers = Array(servers.dropFirst())
        config.classifiesNAT = true
        signaling = try SignalingClient(config: config, entropy: entropy, now: EndpointDriver.now())
    }

    private static func randomHex(_ entropy: EntropySource) -> String {
        let a = entropy.nextUInt64()
        let b = entropy.nextUInt64()
        return String(a, radix: 16) + String(b, radix: 16)
    }

    /// Binds the UDP socket (in `udpPortRange` if set) and starts signaling.
    func start() -> EventLoopFuture<Void> {
        let candidates: [Int] = options.udpPortRange.map { $0.map(Int.init) } ?? [0]
        return bind(candidates[...]).assumeIsolated().flatMapThrowing { bound in
            let port = UInt16(bound.port ?? 0)
            self.lanCandidates = LocalAddresses.candidates(port: port, server: self.serverAddress)
            self.signaling.localAddresses = self.lanCandidates
            self.driver.onPunch = { datagram, address, socket in self.punched(datagram, from: address, socket: socket) }
            self.driver.onSendFailure = { failure, _ in self.sendRefused(failure) }
            self.driver.attachSignaling(self.signaling) { self.signalingEvent($0) }
            self.driver.onServerCarrierChange = { overStream in
                // Back on UDP: relayed links look for a direct path again (their CONNECT, sealed,
                // moves our record to the UDP address before the server introduces us with it).
                guard !overStream else { return }
                for port in self.ports.values { port.serverReachableOverUDPAgain() }
            }
            if let streamOptions = self.options.serverStream { try self.driver.attachServerStream(streamOptions) }
            let core = NIOLoopBound(self, eventLoop: self.loop)
            self.sampler = self.loop.scheduleRepeatedTask(initialDelay: .seconds(1), delay: .seconds(1)) { _ in
                core.value.sampleOnce()
            }
        }.nonisolated()
    }

    /// Once a second: the ports' rates, and traversals kept only for a session that ended.
    private func sampleOnce() {
        let now = NIODeadline.now()
        for port in ports.values { port.sampleRates(now: now) }
        retainedTraversals.removeAll { $0.releaseIfSessionEnded() }
    }

    private func bind(_ ports: ArraySlice<Int>) -> EventLoopFuture<SocketAddress> {
        var configuration = UDPEndpoint.Configuration()
        configuration.host = "::"  // dual-stack: IPv4 and IPv6 servers and peers
        configuration.port = ports.first ?? 0
        driver.sendFaultInjector = options.sendFaultInjector
        return driver.start(udp: configuration).assumeIsolated().flatMapError { error in
            let rest = ports.dropFirst()
            guard !rest.isEmpty else { return self.loop.makeFailedFuture(error) }
            return self.bind(rest)
        }.nonisolated()
    }

    // MARK: signaling

    private func signalingEvent(_ event: SignalingClientEvent) {
        switch event {
        case .queryResult(let id, let result):
            queryWaiters.removeValue(forKey: id)?(.success(result))
        case .connectSent(let id):
            connectSentWaiters.removeValue(forKey: id)?()
        case .connectResult(let id, let result):
            connectSentWaiters.removeValue(forKey: id)
            connectWaiters.removeValue(forKey: id)?(.success(result))
        case .requestFailed(let id, let failure):
            queryWaiters.removeValue(forKey: id)?(.failure(failure))
            connectSentWaiters.removeValue(forKey: id)
            connectWaiters.removeValue(forKey: id)?(.failure(failure))
        case .statusChanged(let status):
            logger.debug("server connection", metadata: ["status": "\(status)"])
        case .natBehavior(let nat):
            logger.debug("NAT behaviour", metadata: ["nat": "\(nat)"])
        case .relayUnknown(let deviceCID):
            for port in ports.values { port.relaySessionLost(deviceConnectionID: deviceCID) }
        case .unauthenticatedServer(let key):
            logger.warning(
                "no svrkey given: the server is not authenticated; pin it by passing its public key as svrkey",
                metadata: ["serverPublicKey": "\(Hex.encode(key))"])
        case .serverSilent(let silence):
            logger.warning("\(silence)")
        case .registrationRefused(let code):
            logger.error("the server refused our registration; retrying slowly", metadata: ["reason": "\(code)"])
        default:
            break
        }
    }

    var status: ServerConnectionStatus {
        switch signaling.status {
        case .registered: .connected
        case .connecting: .connecting
        case .keyRejected: .keyRejected
        }
    }

    func query(
        _ uuid: String, _ done: @escaping (Result<SignalingMessage.QueryResult, SignalingRequestFailure>) -> Void
    ) {
        let id = signaling.query(uuid: uuid, now: EndpointDriver.now())
        queryWaiters[id] = done
        driver.requestStep()
    }

    /// `resume`: the device's connection ID of an established connection whose relay session
    /// the server lost (see `PortMapping.relaySessionLost`). `sent`: runs when the CONNECT is
    /// first written, before anything else leaves in that flush.
    func connect(
        _ uuid: String, connectionID: ConnectionID, resume: ConnectionID? = nil, resumeAddress: NetAddress? = nil,
        sent: (() -> Void)? = nil,
        _ done: @escaping (Result<SignalingMessage.ConnectResult, SignalingRequestFailure>) -> Void
    ) {
        let id = signaling.connect(
            uuid: uuid, clientConnectionID: connectionID, candidates: lanCandidates,
            resumeDeviceConnectionID: resume, resumeDeviceAddress: resumeAddress, now: EndpointDriver.now())
        connectWaiters[id] = done
        if let sent { connectSentWaiters[id] = sent }
        driver.requestStep()
    }

    /// A traversal punch: the session it names (all, for a bare punch) probes the sender.
    private func punched(_ datagram: ByteBuffer, from address: NetAddress, socket: Int) {
        let (_, sessionID) = TraversalPunch.parse(datagram)
        if let sessionID {
            if let traversal = traversals[sessionID] {
                traversal.punched(from: address, socket: socket)
            } else if socket == 0 {
                for port in ports.values { port.devicePunched(sessionID: sessionID, from: address) }
            }
        } else {
            for traversal in traversals.values { traversal.punched(from: address, socket: socket) }
        }
    }

    /// Already logged by the socket; kept here so a relayed link can say its sends were refused.
    private func sendRefused(_ failure: SendFailure) {
        if refusedSends.count >= Self.refusedLimit, refusedSends[failure.destination] == nil {
            refusedSends.removeAll()
        }
        refusedSends[failure.destination] = failure
    }

    // MARK: device keys (trust on first use)

    /// Pins `key` for `uuid` on first contact; `.changed` when another key is pinned.
    func trustDeviceKey(_ key: [UInt8], for uuid: String) -> DevicePins.Decision {
        let decision = pins.trust(key, for: uuid)
        if case .pinnedNow(let line) = decision {
            logger.info(
                "pinned device key (first contact)",
                metadata: [
                    "uuid": "\(uuid)", "key": "\(Hex.encode(key))", "file": "\(pins.path ?? "memory")",
                    "line": "\(line)",
                ])
        }
        return decision
    }

    /// The key pinned for `uuid`, if any.
    func pinnedKey(for uuid: String) -> [UInt8]? { pins.pinnedKey(for: uuid) }

    /// Compares `key` with the pin for `uuid` without pinning.
    func checkDeviceKey(_ key: [UInt8], for uuid: String) -> DevicePins.Decision {
        pins.check(key, for: uuid)
    }

    // MARK: ports

    func addPort(_ request: PortMappingRequest) -> EventLoopFuture<UInt16> {
        let target: StreamTargetHeader
        switch request.remoteHost {
        case "127.0.0.1", "localhost", "":
            target = .deviceSelf(port: request.remotePort)
        default:
            guard let parsed = try? SocketAddress(ipAddress: request.remoteHost, port: 0),
                let host = NetAddress(parsed)?.host
            else {
                return loop.makeFailedFuture(T2UClientError.invalidArgument("remote host \(request.remoteHost)"))
            }
            target = StreamTargetHeader(host: .address(host), port: request.remotePort)
        }
        let listener = TunnelPortListener(eventLoop: loop, target: target, logger: logger)
        return listener.bind(host: "127.0.0.1", port: Int(request.localPort))
            .flatMapErrorThrowing { error in
                let reason =
                    error is PortInUse
                    ? "in use by another listener; choose another local port (0 lets the system pick one)" : "\(error)"
                throw T2UClientError.localPortUnavailable(request.localPort, reason: reason)
            }
            .assumeIsolated()
            .flatMapThrowing { address in
                guard let port = address.port.map(UInt16.init), self.ports[port] == nil else {
                    listener.close()
                    throw T2UClientError.localPortUnavailable(request.localPort, reason: "already mapped")
                }
                let mapping = PortMapping(core: self, localPort: port, request: request, listener: listener)
                self.ports[port] = mapping
                mapping.start()
                return port
            }
            .nonisolated()
    }

    func deletePort(_ port: UInt16) {
        ports.removeValue(forKey: port)?.close()
    }

    // MARK: events

    func setEventHandler(_ handler: (@Sendable (T2UClientEvent) -> Void)?) {
        eventHandler = handler
    }

    func emit(_ event: T2UClientEvent) {
        continuation.yield(event)
        eventHandler?(event)
    }

    // MARK: shutdown

    func shutdown() -> EventLoopFuture<Void> {
        guard !isShutDown else { return loop.makeSucceededVoidFuture() }
        isShutDown = true
        sampler?.cancel()
        for port in ports.values { port.close() }
        ports.removeAll()
        for traversal in traversals.values { traversal.stop(keep: nil) }
        traversals.removeAll()
        for waiter in queryWaiters.values { waiter(.failure(.timeout)) }
        for waiter in connectWaiters.values { waiter(.failure(.timeout)) }
        queryWaiters.removeAll()
        connectWaiters.removeAll()
        connectSentWaiters.removeAll()
        eventHandler = nil
        continuation.finish()
        return driver.close()
    }
}
