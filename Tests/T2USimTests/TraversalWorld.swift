// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import T2UCore
import T2USim

/// Two agents behind two `SimulatedNAT`s and a server, on a virtual clock with a fixed one-way
/// latency: the planners of both sides run as the agents would (client probes, device punches,
/// auxiliary sockets with a route table), and probes are answered by the device from the
/// socket they reached. A probe is a nonce echo standing in for the connection's authenticated
/// PATH_CHALLENGE (the NAT behaviour is what is under test); the winning path then carries a
/// real `Connection` handshake and a stream, byte-exact.
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
        var planner: TraversalPlanner?
        /// Planner socket number -> socket index.
        var auxiliary: [Int] = []

        init(nat: SimulatedNAT, privateHost: NetAddress.Host, endpoint: TransportEndpoint) {
            self.nat = nat
            self.privateHost = privateHost
            self.endpoint = endpoint
            sockets[0] = NetAddress(host: privateHost, port: 5000)
        }

        var main: NetAddress { sockets[0]! }
        func socket(at address: NetAddress) -> Int? { sockets.first { $0.value == address }?.key }
        func route(_ address: NetAddress) -> Int { routes[address] ?? 0 }
    }

    struct Delivery {
        var at: Instant
        var order: Int
        var datagram: ByteBuffer
        var from: NetAddress
        var to: NetAddress
    }

    static let latency = Nanos.milliseconds(15)
    static let serverMain = NetAddress(ipv4: (198, 51, 100, 1), port: 3478)
    static let serverObservation = NetAddress(ipv4: (198, 51, 100, 1), port: 3479)
    static let probeType: UInt8 = 0x11
    static let probeReplyType: UInt8 = 0x12
    static let probeRetry = Nanos.milliseconds(100)

    let seed: UInt64
    let client: Agent
    let device: Agent
    let sessionID: UInt64 = 0x5E55_1011
    let deviceIdentity: StaticIdentity
    private(set) var now = Instant.zero
    private var queue: [Delivery] = []
    private var order = 0
    private let entropy: SeededEntropy
    /// Client probes in flight: nonce -> (address, sends left, next send).
    private var probes: [UInt64: (address: NetAddress, left: Int, next: Instant)] = [:]
    private(set) var validated: [NetAddress] = []
    private(set) var validatedSocket: [NetAddress: Int] = [:]
    private(set) var datagramsSent = 0
    private(set) var probesSent = 0

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
        entropy = SeededEntropy(seed: seed)
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
        client.planner = TraversalPlanner(
            role: .client, localNAT: client.behavior,
            peer: TraversalPeer(nat: device.behavior, reflexive: device.reflexive, candidates: [device.main]),
            sessionID: sessionID, entropy: SeededEntropy(seed: seed &+ 7), now: now + order.delays().client,
            config: config)
        // INTRODUCE reaches the device one server hop later; the device punches only what its
        // scope allows (the client's observed address, candidates on its own /24).
        let introduction = SignalingMessage.Introduce(
            requestID: 1, sessionID: sessionID, clientConnectionID: ConnectionID(rawValue: 1),
            clientPublicAddress: client.reflexive!,
            clientCandidates: [client.main], relayAllowed: true, clientNAT: client.behavior,
            punchDelay: order.delays().device)
        device.planner =
            TraversalPlanner.device(
                introduction: introduction, localNAT: device.behavior,
                subnets: [LocalSubnet(host: devicePrivate, prefixLength: 24)],
                entropy: SeededEntropy(seed: seed &+ 8), now: now + Self.latency * 2, config: config
            ).planner
    }

    /// Registration and the observation probe: the two first mappings of the main socket.
    private func register(_ agent: Agent) {
        let main = agent.nat.outbound(from: agent.main, to: Self.serverMain)
        let observation = agent.nat.outbound(from: agent.main, to: Self.serverObservation)
        agent.reflexive = main
        agent.behavior = NATBehavior.classify(main: main, observation: observation, local: [agent.main])
    }

    // MARK: running

    /// Runs both plans until the client validated a path or `limit` passed.
    @discardableResult
    func discover(limit: Nanos = .seconds(12)) -> NetAddress? {
        run(until: Instant.zero + limit) { !self.validated.isEmpty }
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
        if let t = client.planner?.nextDeadline() { times.append(t) }
        if let t = device.planner?.nextDeadline() { times.append(t) }
        if let t = probes.values.map(\.next).min() { times.append(t) }
        if let t = client.endpoint.nextDeadline() { times.append(t) }
        if let t = device.endpoint.nextDeadline() { times.append(t) }
        return times.min()
    }

    private func step() {
        while let first = queue.first, first.at <= now {
            queue.removeFirst()
            deliver(first)
        }
        for agent in [client, device] {
            while let action = agent.planner?.poll(now: now) { execute(action, agent) }
        }
        for (nonce, probe) in probes where probe.next <= now {
            if probe.left <= 0 {
                probes[nonce] = nil
                continue
            }
            probes[nonce] = (probe.address, probe.left - 1, now + Self.probeRetry)
            sendProbe(nonce: nonce, to: probe.address)
        }
        for agent in [client, device] {
            if let t = agent.endpoint.nextDeadline(), t <= now { agent.endpoint.handleTimeout(now: now) }
            flushTransport(agent)
        }
    }

    private func execute(_ action: TraversalAction, _ agent: Agent) {
        switch action {
        case .probe(let address, let attempts):
            startProbe(address, attempts: attempts)
        case .punch(let address, let socket):
            let index = socket == 0 ? 0 : (socket <= agent.auxiliary.count ? agent.auxiliary[socket - 1] : -1)
            guard index >= 0 else { return }
            var datagram = ByteBuffer()
            TraversalPunch.write(sessionID: sessionID, entropy: entropy, into: &datagram)
            send(datagram, from: agent, socket: index, to: address)
        case .openSockets(let count):
            for i in 1...count {
                agent.sockets[i] = NetAddress(host: agent.privateHost, port: UInt16(6000 + i))
                agent.auxiliary.append(i)
            }
        }
    }

    private func startProbe(_ address: NetAddress, attempts: Int) {
        let nonce = entropy.nextUInt64()
        probes[nonce] = (address, attempts - 1, now + Self.probeRetry)
        sendProbe(nonce: nonce, to: address)
    }

    private func sendProbe(nonce: UInt64, to address: NetAddress) {
        probesSent += 1
        var datagram = ByteBuffer()
        datagram.writeMultipleIntegers(Self.probeType, nonce)
        send(datagram, from: client, socket: client.route(address), to: address)
    }

    private func send(_ datagram: ByteBuffer, from agent: Agent, socket: Int, to destination: NetAddress) {
        guard let source = agent.sockets[socket] else { return }
        datagramsSent += 1
        let onLAN = sharedLAN && (destination.host == client.privateHost || destination.host == device.privateHost)
        let publicSource = onLAN ? source : agent.nat.outbound(from: source, to: destination)
        let delivery = Delivery(
            at: now + Self.latency, order: order, datagram: datagram, from: publicSource, to: destination)
        order += 1
        // Constant latency: arrival order is send order, so appending keeps the queue sorted.
        queue.append(delivery)
    }

    private func deliver(_ delivery: Delivery) {
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

    private func receive(_ datagram: ByteBuffer, from address: NetAddress, agent: Agent, socket: Int) {
        if socket != 0 { agent.routes[address] = socket }
        var reader = datagram
        guard let type = reader.readInteger(as: UInt8.self) else { return }
        switch type {
        case TraversalPunch.type where agent === client:
            // A punch reached us: probe back through the socket it hit.
            startProbe(address, attempts: 3)
        case TraversalPunch.type:
            break
        case Self.probeType where agent === device:
            guard let nonce = reader.readInteger(as: UInt64.self) else { return }
            var reply = ByteBuffer()
            reply.writeMultipleIntegers(Self.probeReplyType, nonce)
            send(reply, from: device, socket: device.route(address), to: address)
        case Self.probeReplyType where agent === client:
            guard let nonce = reader.readInteger(as: UInt64.self), let probe = probes[nonce], probe.address == address
            else { return }
            probes[nonce] = nil
            if !validated.contains(address) {
                validated.append(address)
                validatedSocket[address] = socket
            }
        default:
            agent.endpoint.receive(datagram, from: address, now: now)
        }
    }

    private func flushTransport(_ agent: Agent) {
        var buffer = ByteBuffer()
        for _ in 0..<10_000 {
            buffer.clear()
            guard let destination = agent.endpoint.pollTransmit(now: now, into: &buffer) else { return }
            send(buffer, from: agent, socket: agent.route(destination), to: destination)
        }
    }

    // MARK: a real session over the discovered path

    /// Stops the plans, handshakes to `address` through the socket that validated it, sends
    /// `size` bytes client -> device on one stream; returns what the device read.
    func transfer(
        over address: NetAddress, size: Int, limit: Nanos = .seconds(20)
    ) -> (sent: [UInt8], received: [UInt8], established: Bool) {
        client.planner?.stop()
        device.planner?.stop()
        probes.removeAll()
        let connection = client.endpoint.connect(
            to: address, remoteStaticKey: deviceIdentity.publicKey, password: nil, now: now)
        let payload = SeededEntropy(seed: seed ^ 0xDA7A).bytes(size)
        var offset = 0
        var stream: StreamID?
        var accepted: Connection?
        var received: [UInt8] = []
        var finishedWriting = false
        var streams: Set<StreamID> = []
        run(until: now + limit) {
            if accepted == nil { accepted = device.endpoint.pollAccepted() }
            while connection.pollEvent() != nil {}
            if let accepted {
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
        return (payload, received, connection.state == .established)
    }
}
