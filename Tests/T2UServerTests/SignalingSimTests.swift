// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import T2UCore
import T2USim
import Testing

@testable import T2UServer

/// A `ServerCore` on two simulated addresses (main and observation port).
final class ServerSimNode {
    var core: ServerCore
    let config: ServerConfig
    let entropy: SeededEntropy
    private var queues: [ServerSocket: [(ByteBuffer, NetAddress)]] = [.main: [], .observation: []]
    private(set) var main: ServerSocketHost!
    private(set) var observation: ServerSocketHost!

    init(config: ServerConfig, mainAddress: NetAddress, observationAddress: NetAddress, entropy: SeededEntropy) {
        self.config = config
        self.entropy = entropy
        self.core = ServerCore(config: config, entropy: entropy, now: .zero)
        main = ServerSocketHost(node: self, socket: .main, address: mainAddress)
        observation = ServerSocketHost(node: self, socket: .observation, address: observationAddress)
    }

    /// A process restart: every registration and session is forgotten.
    func restart(now: Instant) {
        core = ServerCore(config: config, entropy: entropy, now: now)
        queues = [.main: [], .observation: []]
    }

    fileprivate func drain(now: Instant) {
        while true {
            var buffer = ByteBuffer()
            guard let transmit = core.pollTransmit(now: now, into: &buffer) else { return }
            queues[transmit.socket, default: []].append((buffer, transmit.destination))
        }
    }

    fileprivate func pop(_ socket: ServerSocket, into buffer: inout ByteBuffer) -> NetAddress? {
        guard var queue = queues[socket], !queue.isEmpty else { return nil }
        let (datagram, destination) = queue.removeFirst()
        queues[socket] = queue
        buffer.writeImmutableBuffer(datagram)
        return destination
    }
}

final class ServerSocketHost: SimulatedHost {
    unowned let node: ServerSimNode
    let socket: ServerSocket
    let address: NetAddress

    init(node: ServerSimNode, socket: ServerSocket, address: NetAddress) {
        self.node = node
        self.socket = socket
        self.address = address
    }

    func receive(_ datagram: ByteBuffer, from: NetAddress, now: Instant) {
        node.core.receive(datagram, from: from, on: socket, now: now)
    }

    func pollTransmit(now: Instant, into buffer: inout ByteBuffer) -> NetAddress? {
        node.drain(now: now)
        return node.pop(socket, into: &buffer)
    }

    func nextDeadline() -> Instant? { socket == .main ? node.core.nextDeadline() : nil }

    func handleTimeout(now: Instant) {
        if socket == .main { node.core.handleTimeout(now: now) }
    }
}

/// A `SignalingClient` as a simulated host, keeping every event it reported.
final class SignalingClientHost: SimulatedHost {
    let address: NetAddress
    let client: SignalingClient
    private(set) var events: [SignalingClientEvent] = []

    init(address: NetAddress, config: SignalingClientConfig, entropy: EntropySource) throws {
        self.address = address
        self.client = try SignalingClient(config: config, entropy: entropy, now: .zero)
    }

    func receive(_ datagram: ByteBuffer, from: NetAddress, now: Instant) {
        client.receive(datagram, from: from, now: now)
        collect()
    }

    func pollTransmit(now: Instant, into buffer: inout ByteBuffer) -> NetAddress? {
        client.pollTransmit(now: now, into: &buffer)
    }

    func nextDeadline() -> Instant? { client.nextDeadline() }

    func handleTimeout(now: Instant) {
        client.handleTimeout(now: now)
        collect()
    }

    private func collect() {
        while let event = client.pollEvent() { events.append(event) }
    }

    func queryResult(_ id: UInt32) -> SignalingMessage.QueryResult? {
        for case .queryResult(id, let result) in events { return result }
        return nil
    }

    func connectResult(_ id: UInt32) -> SignalingMessage.ConnectResult? {
        for case .connectResult(id, let result) in events { return result }
        return nil
    }

    func failure(_ id: UInt32) -> SignalingRequestFailure? {
        for case .requestFailed(id, let failure) in events { return failure }
        return nil
    }

    var introductions: [SignalingMessage.Introduce] {
        events.compactMap { if case .introduced(let i) = $0 { return i } else { return nil } }
    }
}

@Suite struct SignalingSimTests {
    static let serverMain = NetAddress(ipv4: (192, 0, 2, 1), port: 7000)
    static let serverObservation = NetAddress(ipv4: (192, 0, 2, 1), port: 7001)
    static let deviceAddress = NetAddress(ipv4: (198, 51, 100, 10), port: 40_000)
    static let clientAddress = NetAddress(ipv4: (203, 0, 113, 5), port: 50_000)
    static let serverIdentity = ServerHarness.serverIdentity

    struct World {
        let net: SimulatedNetwork
        let server: ServerSimNode
        let device: SignalingClientHost
        let client: SignalingClientHost
    }

    /// `deviceKey`/`clientKey`: the server key each agent pins (nil: none, it trusts CHALLENGE).
    static func makeWorld(
        seed: UInt64, deviceKey: [UInt8]? = nil, clientKey: [UInt8]? = nil, loss: Double = 0
    ) throws -> World {
        let net = SimulatedNetwork(seed: seed)
        net.defaultConditions = LinkConditions(delay: .milliseconds(30), lossRate: loss)
        let config = ServerConfig(identity: serverIdentity)
        let server = ServerSimNode(
            config: config, mainAddress: serverMain, observationAddress: serverObservation,
            entropy: net.makeEntropy())
        let deviceConfig = SignalingClientConfig(
            role: .device, uuid: "CAM-0001", extra: Array("model=x".utf8),
            candidates: [NetAddress(ipv4: (192, 168, 1, 20), port: 40_000)], serverPublicKey: deviceKey,
            server: serverMain,
            observationServer: serverObservation)
        let clientConfig = SignalingClientConfig(
            role: .client, uuid: "client-1", serverPublicKey: clientKey, server: serverMain,
            observationServer: serverObservation)
        let device = try SignalingClientHost(address: deviceAddress, config: deviceConfig, entropy: net.makeEntropy())
        let client = try SignalingClientHost(address: clientAddress, config: clientConfig, entropy: net.makeEntropy())
        net.add(server.main)
        net.add(server.observation)
        net.add(device)
        net.add(client)
        return World(net: net, server: server, device: device, client: client)
    }

    @Test(arguments: [UInt64(1), 2, 3])
    func registrationQueryAndConnectSurviveALossyLink(seed: UInt64) throws {
        let w = try Self.makeWorld(seed: seed, loss: 0.3)
        let registered = w.net.run(for: .seconds(60)) {
            !(w.device.client.status == .registered && w.client.client.status == .registered)
        }
        #expect(registered, "seed \(seed)")
        #expect(w.device.client.observedAddress == Self.deviceAddress, "seed \(seed)")

        var queryID: UInt32 = 0
        w.net.schedule(after: .zero) { queryID = w.client.client.query(uuid: "CAM-0001", now: w.net.now) }
        #expect(
            w.net.run(for: .seconds(30)) { w.client.queryResult(queryID) == nil && w.client.failure(queryID) == nil })
        let result = try #require(w.client.queryResult(queryID), "seed \(seed): \(w.client.events)")
        #expect(result.online, "seed \(seed)")
        #expect(result.extra == Array("model=x".utf8), "seed \(seed)")
        #expect(result.publicAddress == Self.deviceAddress, "seed \(seed)")

        var connectID: UInt32 = 0
        w.net.schedule(after: .zero) {
            connectID = w.client.client.connect(
                uuid: "CAM-0001", clientConnectionID: ConnectionID(rawValue: 0xC1D), candidates: [],
                now: w.net.now)
        }
        #expect(
            w.net.run(for: .seconds(30)) { w.client.connectResult(connectID) == nil || w.device.introductions.isEmpty },
            "seed \(seed): \(w.client.events)")
        let connect = try #require(w.client.connectResult(connectID))
        #expect(connect.online)
        #expect(connect.deviceCandidates.first == Self.deviceAddress)
        #expect(w.device.introductions.count == 1, "seed \(seed)")
        #expect(w.device.introductions.first?.sessionID == connect.sessionID)
        #expect(w.device.introductions.first?.clientPublicAddress == Self.clientAddress)
    }

    @Test func staysRegisteredWithKeepalivesAndRecoversFromAServerRestart() throws {
        let w = try Self.makeWorld(seed: 9)
        #expect(w.net.run(for: .seconds(10)) { w.device.client.status != .registered })
        // Five minutes: far beyond the presence timeout, so only keepalives keep both online
        // (two registrations: device and client, none repeated).
        w.net.run(for: .seconds(300))
        #expect(w.device.client.status == .registered)
        #expect(w.server.core.registry.lookup(role: .device, uuid: "CAM-0001") != nil)
        #expect(w.server.core.counters.registrations == 2, "\(w.device.events) \(w.client.events)")

        w.server.restart(now: w.net.now)
        #expect(w.server.core.registry.lookup(role: .device, uuid: "CAM-0001") == nil)
        // The next keepalive meets unknownSession and the device registers again.
        #expect(w.net.run(for: .seconds(40)) { w.server.core.registry.lookup(role: .device, uuid: "CAM-0001") == nil })
        #expect(w.net.run(for: .seconds(5)) { w.device.client.status != .registered })
        #expect(w.device.events.contains(.statusChanged(.connecting)))
    }

    @Test func silentServerLeadsToANewRegistrationWhenItComesBack() throws {
        let w = try Self.makeWorld(seed: 12)
        #expect(w.net.run(for: .seconds(10)) { w.device.client.status != .registered })
        // The path to the server goes dark: keepalives go unanswered, the device starts over.
        w.net.setLinks(
            between: Self.deviceAddress, and: Self.serverMain, LinkConditions(delay: .milliseconds(30), lossRate: 1))
        #expect(w.net.run(for: .seconds(40)) { w.device.client.status == .registered })
        #expect(w.device.events.contains(.statusChanged(.connecting)))
        // Back again: it registers anew (the server counts a second device registration).
        w.net.setLinks(between: Self.deviceAddress, and: Self.serverMain, LinkConditions(delay: .milliseconds(30)))
        #expect(w.net.run(for: .seconds(20)) { w.device.client.status != .registered })
        #expect(w.server.core.counters.registrations == 3)
    }

    @Test func wrongServerKeyIsReportedAndTheRightOneRegisters() throws {
        let other = StaticIdentity.generate(SeededEntropy(seed: 404)).publicKey
        let w = try Self.makeWorld(seed: 4, deviceKey: Self.serverIdentity.publicKey, clientKey: other)
        w.net.run(for: .seconds(20))
        #expect(w.device.client.status == .registered)
        #expect(w.client.client.status == .keyRejected)
        // The client never registers with a server whose key is not the pinned one.
        #expect(w.server.core.registry.lookup(role: .client, uuid: "client-1") == nil)
        #expect(w.server.core.counters.registrations == 1)
    }

    @Test func probeTellsTheAddressSeenByTheSecondPort() throws {
        let w = try Self.makeWorld(seed: 5)
        #expect(w.net.run(for: .seconds(10)) { w.client.client.status != .registered })
        var probeID: UInt32?
        w.net.schedule(after: .zero) { probeID = w.client.client.probe(now: w.net.now) }
        w.net.run(for: .seconds(5))
        let id = try #require(probeID)
        #expect(w.client.events.contains(.probeResult(requestID: id, observed: Self.clientAddress)))
        #expect(w.server.core.counters.signalingReplies >= 3)
    }

    @Test func queryToAnUnreachableServerTimesOut() throws {
        let w = try Self.makeWorld(seed: 6, loss: 1.0)
        var id: UInt32 = 0
        w.net.schedule(after: .zero) { id = w.client.client.query(uuid: "CAM-0001", now: w.net.now) }
        w.net.run(for: .seconds(12))
        #expect(w.client.failure(id) == .timeout)
        #expect(w.client.client.status == .connecting)
    }
}
