// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import T2UCore
import T2USim

/// Two agents behind two `SimulatedNAT`s and a server, on a virtual clock with a fixed one-way
/// latency, running what the agents run: the session's `Connection` comes up through the
/// server's relay, then both sides' `TraversalExecution`s act (client probes with the
/// connection's authenticated PATH_CHALLENGE, device punches, auxiliary sockets with a route
/// table, punches answered per role); the client's `.pathValidated` events are what was found.
/// The winning path then carries the same connection, migrated, and a stream, byte-exact.
final class TraversalWorld {
    enum NATKind: String, CaseIterable, CustomStringConvertible {
        case none, fullcone, cone
        case symmetricRandom = "symmetric-random"
        case symmetricSequential = "symmetric-sequential"
        var description: String { rawValue }

        var mapping: SimulatedNAT.Mapping {
            switch self {
            case .none: return .none
            case .fullcone, .cone: return .endpointIndependent
            case .symmetricRandom: return .dependentRandom
            case .symmetricSequential: return .dependentSequential(delta: 1)
            }
        }
        var filtering: SimulatedNAT.Filtering { self == .fullcone ? .endpointIndependent : .addressPortDependent }
    }

    /// One agent: its NAT, sockets (0 main, i auxiliary) and route table.
    final class Agent {
        let nat: SimulatedNAT
        let privateHost: NetAddress.Host
        var sockets: [Int: NetAddress] = [:]
        var routes: [NetAddress: Int] = [:]
        var endpoint: TransportEndpoint
        var behavior: NATBehavior = .unknown
        var reflexive: NetAddress?
        var execution: TraversalExecution?

        init(nat: SimulatedNAT, privateHost: NetAddress.Host, endpoint: TransportEndpoint) {
            self.nat = nat
            self.privateHost = privateHost
            self.endpoint = endpoint
            sockets[0] = NetAddress(host: privateHost, port: 5000)
        }

        var planner: TraversalPlanner? { execution?.planner }
        var main: NetAddress { sockets[0]! }
        var subnet: LocalSubnet { LocalSubnet(host: privateHost, prefixLength: 24) }
        func socket(at address: NetAddress) -> Int? { sockets.first { $0.value == address }?.key }
        func route(_ address: NetAddress) -> Int { routes[address] ?? 0 }
    }

    struct Delivery {
        var at: Instant
        var datagram: ByteBuffer
        var from: NetAddress
        var to: NetAddress
    }

    static let latency = Nanos.milliseconds(15)
    static let serverMain = NetAddress(ipv4: (198, 51, 100, 1), port: 3478)
    static let serverObservation = NetAddress(ipv4: (198, 51, 100, 1), port: 3479)

    let seed: UInt64
    let client: Agent
    let device: Agent
    let sessionID: UInt64 = 0x5E55_1011
    let deviceIdentity: StaticIdentity
    private(set) var now = Instant.zero
    private var queue: [Delivery] = []
    private let config: TraversalConfig
    private let order: PunchOrder
    /// The session's connection (client side), first through the relay.
    private(set) var connection: Connection?
    /// The device's side of it.
    private(set) var accepted: Connection?
    /// The client's path rules, as the port mapping applies them: a validated path that is
    /// strictly better becomes the connection's path.
    private(set) var selection = PathSelection(relay: TraversalWorld.serverMain, directDisabled: false)
    private(set) var validated: [NetAddress] = []
    private(set) var validatedSocket: [NetAddress: Int] = [:]
    private(set) var datagramsSent = 0
    /// Client transport datagrams sent anywhere but the relay while discovering (its probes).
    private(set) var probesSent = 0
    private var discovering = false

    /// Both agents behind the client's NAT on one LAN: datagrams between their private
    /// addresses skip the NAT.
    let sharedLAN: Bool

    /// - Parameters:
    ///   - clashing: which routers clash (`SimulatedNAT.clashes`).
    ///   - order: the punch order the server chose (the waiting side's plan starts later).
    init(
        client clientKind: NATKind, device deviceKind: NATKind, seed: UInt64, config: TraversalConfig = .init(),
        sharedLAN: Bool = false, clashing: Set<TraversalRole> = [], order: PunchOrder = .together
    ) {
        self.seed = seed
        self.sharedLAN = sharedLAN
        self.config = config
        self.order = order
        let clientPublic = NetAddress(ipv4: (203, 0, 113, 10), port: 0).host
        let devicePublic = NetAddress(ipv4: (203, 0, 113, 20), port: 0).host
        // Without a NAT the host is public itself.
        let clientPrivate = clientKind == .none ? clientPublic : NetAddress(ipv4: (100, 64, 1, 2), port: 0).host
        let devicePrivate =
            sharedLAN
            ? NetAddress(ipv4: (100, 64, 1, 3), port: 0).host
            : deviceKind == .none ? devicePublic : NetAddress(ipv4: (100, 64, 2, 2), port: 0).host
        let clientNAT = SimulatedNAT(
            publicHost: clientPublic, mapping: clientKind.mapping, filtering: clientKind.filtering,
            entropy: SeededEntropy(seed: seed &+ 1), firstSequentialPort: 21_000,
            clashes: clashing.contains(.client))
        let deviceNAT = SimulatedNAT(
            publicHost: devicePublic, mapping: deviceKind.mapping, filtering: deviceKind.filtering,
            entropy: SeededEntropy(seed: seed &+ 2), firstSequentialPort: 33_000,
            clashes: clashing.contains(.device))
        deviceIdentity = StaticIdentity.generate(SeededEntropy(seed: seed &+ 3))
        let clientEndpoint = TransportEndpoint(
            options: .init(
                config: TransportConfig(), identity: .generate(SeededEntropy(seed: seed &+ 4)), acceptIncoming: false),
            entropy: SeededEntropy(seed: seed &+ 5))
        let deviceEndpoint = TransportEndpoint(
            options: .init(config: TransportConfig(), identity: deviceIdentity, acceptIncoming: true),
            entropy: SeededEntropy(seed: seed &+ 6))
        client = Agent(nat: clientNAT, privateHost: clientPrivate, endpoint: clientEndpoint)
        device = Agent(nat: sharedLAN ? clientNAT : deviceNAT, privateHost: devicePrivate, endpoint: deviceEndpoint)
        for agent in [client, device] { register(agent) }
        // INTRODUCE reaches the device one server hop after CONNECT: its plan starts then; the
        // device punches only what its scope allows (the client's observed address, candidates
        // on its own /24).
        let introduction = SignalingMessage.Introduce(
            requestID: 1, sessionID: sessionID, clientConnectionID: ConnectionID(rawValue: 1),
            clientPublicAddress: client.reflexive!,
            clientCandidates: [client.main], relayAllowed: true, clientNAT: client.behavior,
            punchDelay: order.delays().device)
        let deviceEntropy = SeededEntropy(seed: seed &+ 8)
        let (planner, scope, _) = TraversalPlanner.device(
            introduction: introduction, localNAT: device.behavior, subnets: [device.subnet],
            entropy: deviceEntropy, now: now + Self.latency * 2, config: config)
        device.execution = TraversalExecution(planner: planner, scope: scope, entropy: deviceEntropy)
    }

    /// Registration and the observation probe: the two first mappings of the main socket.
    private func register(_ agent: Agent) {
        let main = agent.nat.outbound(from: agent.main, to: Self.serverMain)
        let observation = agent.nat.outbound(from: agent.main, to: Self.serverObservation)
        agent.reflexive = main
        agent.behavior = NATBehavior.classify(main: main, observation: observation, local: [agent.main])
    }

    // MARK: running

    /// Brings the session up through the relay, then runs both plans until the client
    /// validated a path or `limit` (from the start) passed.
    @discardableResult
    func discover(limit: Nanos = .seconds(12)) -> NetAddress? {
        let end = Instant.zero + limit
        let connection = client.endpoint.connect(
            to: Self.serverMain, remoteStaticKey: deviceIdentity.publicKey, password: nil, now: now)
        self.connection = connection
        run(until: end) { connection.state != .handshaking }
        guard connection.state == .established else { return nil }
        // The client's traversal starts once the link is up (PortMapping), after its punch delay.
        // CONNECT lists the device's registered address first, then its LAN candidates.
        let connectResult = SignalingMessage.ConnectResult(
            requestID: 1, online: true, sessionID: sessionID, devicePublicKey: deviceIdentity.publicKey,
            deviceCandidates: [device.reflexive!, device.main], relayAllowed: true, deviceNAT: device.behavior,
            punchDelay: order.delays().client)
        selection.introduced(deviceAddresses: connectResult.deviceCandidates, localSubnets: [client.subnet])
        let clientEntropy = SeededEntropy(seed: seed &+ 7)
        let (planner, scope) = TraversalPlanner.client(
            connectResult: connectResult, reflexive: selection.deviceReflexive, localNAT: client.behavior,
            subnets: [client.subnet], entropy: clientEntropy, now: now, config: config)
        client.execution = TraversalExecution(planner: planner, scope: scope, entropy: clientEntropy)
        discovering = true
        defer { discovering = false }
        run(until: end) { !self.validated.isEmpty }
        return validated.first
    }

    func run(until end: Instant, stop: () -> Bool) {
        var steps = 0
        while steps < 2_000_000, !stop() {
            steps += 1
            guard let next = nextTime(), next <= end else { break }
            now = max(now, next)
            step()
        }
    }

    private func nextTime() -> Instant? {
        var times: [Instant] = []
        if let first = queue.first { times.append(first.at) }
        for agent in [client, device] {
            if let t = agent.execution?.nextDeadline() { times.append(t) }
            if let t = agent.endpoint.nextDeadline() { times.append(t) }
        }
        return times.min()
    }

    private func step() {
        while let first = queue.first, first.at <= now {
            queue.removeFirst()
            deliver(first)
        }
        if accepted == nil { accepted = device.endpoint.pollAccepted() }
        for agent in [client, device] {
            while let step = agent.execution?.poll(now: now) { perform(step, agent) }
        }
        while let connection, let event = connection.pollEvent() {
            guard case .pathValidated(let address) = event, !validated.contains(address) else { continue }
            validated.append(address)
            validatedSocket[address] = client.route(address)
            if selection.improves(address, on: connection.peerAddress) { connection.migrate(to: address, now: now) }
        }
        for agent in [client, device] {
            if let t = agent.endpoint.nextDeadline(), t <= now { agent.endpoint.handleTimeout(now: now) }
            flushTransport(agent)
        }
    }

    /// What the agents' traversal shells do with a step.
    private func perform(_ step: TraversalExecution.Step, _ agent: Agent) {
        switch step {
        case .probe(let address, let attempts, let socket):
            if let socket, socket != 0 { agent.routes[address] = socket }
            connection?.probePath(to: address, attempts: attempts, now: now)
        case .send(let datagram, let address, let socket):
            send(datagram, from: agent, socket: socket, to: address)
        case .openSockets(let count):
            let indices = Array(1...count)
            for i in indices { agent.sockets[i] = NetAddress(host: agent.privateHost, port: UInt16(6000 + i)) }
            _ = agent.execution?.socketsOpened(indices)
        }
    }

    private func send(_ datagram: ByteBuffer, from agent: Agent, socket: Int, to destination: NetAddress) {
        guard let source = agent.sockets[socket] else { return }
        datagramsSent += 1
        let onLAN = sharedLAN && (destination.host == client.privateHost || destination.host == device.privateHost)
        let publicSource = onLAN ? source : agent.nat.outbound(from: source, to: destination)
        // Constant latency: arrival order is send order, so appending keeps the queue sorted.
        queue.append(Delivery(at: now + Self.latency, datagram: datagram, from: publicSource, to: destination))
    }

    private func deliver(_ delivery: Delivery) {
        if delivery.to == Self.serverMain { return relay(delivery) }
        let agents = [client, device]
        if sharedLAN, let agent = agents.first(where: { $0.privateHost == delivery.to.host }) {
            if let socket = agent.socket(at: delivery.to) {
                receive(delivery.datagram, from: delivery.from, agent: agent, socket: socket)
            }
            return
        }
        for nat in [client.nat, device.nat] where delivery.to.host == nat.publicHost {
            guard let inside = nat.inbound(to: delivery.to, from: delivery.from),
                let agent = agents.first(where: { $0.nat === nat && $0.privateHost == inside.host }),
                let socket = agent.socket(at: inside)
            else { return }
            receive(delivery.datagram, from: delivery.from, agent: agent, socket: socket)
            return
        }
        // Other addresses (another site's private LAN, unused ports) lead nowhere.
    }

    /// The server's relay between the two registered addresses (it forwards by connection ID;
    /// here the pair is the only session).
    private func relay(_ delivery: Delivery) {
        let target: NetAddress?
        switch delivery.from {
        case client.reflexive: target = device.reflexive
        case device.reflexive: target = client.reflexive
        default: target = nil
        }
        guard let target else { return }
        queue.append(Delivery(at: now + Self.latency, datagram: delivery.datagram, from: Self.serverMain, to: target))
    }

    private func receive(_ datagram: ByteBuffer, from address: NetAddress, agent: Agent, socket: Int) {
        if socket != 0 { agent.routes[address] = socket }
        if TraversalPunch.parse(datagram).isPunch {
            if let step = agent.execution?.punchArrived(from: address, socket: socket, now: now) {
                perform(step, agent)
            }
            return
        }
        agent.endpoint.receive(datagram, from: address, now: now)
    }

    private func flushTransport(_ agent: Agent) {
        var buffer = ByteBuffer()
        for _ in 0..<10_000 {
            buffer.clear()
            guard let destination = agent.endpoint.pollTransmit(now: now, into: &buffer) else { return }
            if discovering, agent === client, destination != Self.serverMain { probesSent += 1 }
            send(buffer, from: agent, socket: agent.route(destination), to: destination)
        }
    }

    // MARK: the session over the discovered path

    /// Stops the plans, moves the session's connection to `address` unless the selection did
    /// already (through the socket that validated it), sends `size` bytes client -> device on one stream; returns what the
    /// device read and whether both ends ended up on that path.
    func transfer(
        over address: NetAddress, size: Int, limit: Nanos = .seconds(20)
    ) -> (sent: [UInt8], received: [UInt8], onPath: Bool) {
        for agent in [client, device] { _ = agent.execution?.stop(keeping: Set(agent.sockets.keys)) }
        guard let connection, let accepted else { return ([], [], false) }
        connection.migrate(to: address, now: now)
        let payload = SeededEntropy(seed: seed ^ 0xDA7A).bytes(size)
        var offset = 0
        var stream: StreamID?
        var received: [UInt8] = []
        var finishedWriting = false
        var streams: Set<StreamID> = []
        run(until: now + limit) {
            while let event = accepted.pollEvent() {
                if case .streamOpened(let id) = event { streams.insert(id) }
                if case .streamReadable(let id) = event { streams.insert(id) }
            }
            for id in streams {
                reading: while true {
                    switch (try? accepted.read(id, maxBytes: 65_536)) ?? .wouldBlock {
                    case .data(let bytes): received += Array(bytes.readableBytesView)
                    case .fin, .wouldBlock: break reading
                    }
                }
            }
            if connection.state == .established {
                if stream == nil { stream = try? connection.openStream() }
                if let stream, offset < payload.count {
                    let chunk = ByteBuffer(bytes: payload[offset..<min(payload.count, offset + 16_384)])
                    offset += (try? connection.write(chunk, to: stream)) ?? 0
                }
                if let stream, offset == payload.count, !finishedWriting {
                    finishedWriting = (try? connection.finish(stream)) != nil
                }
            }
            return received.count >= payload.count
        }
        // Both ends on the new path: the device followed the client off the relay.
        let onPath =
            connection.state == .established && connection.peerAddress == address
            && accepted.peerAddress != Self.serverMain
        return (payload, received, onPath)
    }
}
