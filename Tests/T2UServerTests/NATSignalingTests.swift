// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import T2UCore
import Testing

@testable import T2UServer

/// NAT behaviour through signaling: the agent measures it while registering (PROBE from the
/// same socket, sent with HELLO), tells the server at once (KEEPALIVE), the server stores it and passes both
/// sides' behaviours to CONNECT_RESULT and INTRODUCE.
@Suite struct NATSignalingTests {
    static let server = NetAddress(ipv4: (198, 51, 100, 1), port: 7000)
    static let observation = NetAddress(ipv4: (198, 51, 100, 1), port: 7001)

    /// Sends everything due and returns it.
    static func sent(_ client: SignalingClient, _ peer: ServerPeer, now: Instant) -> [(SignalingMessage, NetAddress)] {
        var out: [(SignalingMessage, NetAddress)] = []
        var buffer = ByteBuffer()
        while let destination = client.pollTransmit(now: now, into: &buffer) {
            if let message = try? SignalingMessage.parse(buffer), let opened = peer.open(message) {
                out.append((opened, destination))
            }
        }
        return out
    }

    static func reply(_ client: SignalingClient, _ message: SignalingMessage, from: NetAddress = server, now: Instant) {
        var buffer = ByteBuffer()
        message.write(into: &buffer)
        client.receive(buffer, from: from, now: now)
    }

    /// The PROBE that goes out with HELLO (the NAT is measured alongside the registration).
    static func probeID(in sent: [(SignalingMessage, NetAddress)]) -> UInt32? {
        for (message, destination) in sent where destination == observation {
            if case .probe(let id) = message { return id }
        }
        return nil
    }

    @Test(
        arguments: [(UInt16(40_000), NATBehavior.endpointIndependent), (40_003, .endpointDependent(delta: 3))],
        [false, true])
    func agentMeasuresItsNATWhileRegisteringAndTellsTheServer(
        observed: (UInt16, NATBehavior),
        probeAnsweredFirst: Bool
    ) throws {
        let (observedPort, expected) = observed
        var config = SignalingClientConfig(
            role: .device, uuid: "CAM", server: Self.server, observationServer: Self.observation)
        config.classifiesNAT = true
        let client = try SignalingClient(config: config, entropy: SeededEntropy(seed: 5), now: .zero)
        let peer = ServerPeer()
        let now = Instant.zero
        let opening = Self.sent(client, peer, now: now)
        guard case .hello(let helloID, _)? = opening.first?.0 else {
            Issue.record("no HELLO")
            return
        }
        let probeID = try #require(Self.probeID(in: opening), "no PROBE beside the HELLO: \(opening)")
        let answer = SignalingMessage.probeResult(
            requestID: probeID, observed: NetAddress(ipv4: (203, 0, 113, 9), port: observedPort))
        if probeAnsweredFirst { Self.reply(client, answer, from: Self.observation, now: now) }
        Self.reply(client, peer.challenge(helloID), now: now)
        guard case .register(let register)? = Self.sent(client, peer, now: now).first?.0 else {
            Issue.record("no REGISTER")
            return
        }
        let opened = try SignalingRegistration.Responder(register, server: peer.identity)
        #expect(opened.payload.nat == .unknown)
        let main = NetAddress(ipv4: (203, 0, 113, 9), port: 40_000)
        Self.reply(client, try #require(peer.registered(register, token: 77, observed: main)), now: now)
        if !probeAnsweredFirst {
            #expect(Self.probeID(in: Self.sent(client, peer, now: now)) == nil, "the PROBE went out twice")
            Self.reply(client, answer, from: Self.observation, now: now)
        }
        #expect(client.nat == expected)
        var events: [SignalingClientEvent] = []
        while let event = client.pollEvent() { events.append(event) }
        #expect(events.contains(.natBehavior(expected)))
        // A keepalive carries it right away.
        let next = Self.sent(client, peer, now: now)
        #expect(next.contains { if case .keepalive(_, 77, expected) = $0.0 { true } else { false } }, "\(next)")
        // CONNECT carries it too.
        client.connect(uuid: "DOOR", clientConnectionID: ConnectionID(rawValue: 1), candidates: [], now: now)
        #expect(
            Self.sent(client, peer, now: now).contains {
                if case .connect(let m) = $0.0 { m.nat == expected } else { false }
            })
    }

    /// A CONNECT asked for before registration waits for the NAT measurement (the device plans
    /// its traversal from the NAT it carries), but never longer than one retransmission interval;
    /// when the probe (sent with HELLO) was answered first, the CONNECT goes with the registration.
    enum ProbeAnswer: CaseIterable { case beforeRegistration, afterRegistration, never }

    @Test(arguments: ProbeAnswer.allCases)
    func connectWaitsForTheNATMeasurement(probe: ProbeAnswer) throws {
        var config = SignalingClientConfig(
            role: .client, uuid: "app", server: Self.server, observationServer: Self.observation)
        config.classifiesNAT = true
        let client = try SignalingClient(config: config, entropy: SeededEntropy(seed: 6), now: .zero)
        let peer = ServerPeer()
        var now = Instant.zero
        client.connect(uuid: "DOOR", clientConnectionID: ConnectionID(rawValue: 1), candidates: [], now: now)
        let opening = Self.sent(client, peer, now: now)
        guard case .hello(let helloID, _)? = opening.first?.0 else {
            Issue.record("no HELLO")
            return
        }
        let probeID = try #require(Self.probeID(in: opening), "no PROBE beside the HELLO: \(opening)")
        let main = NetAddress(ipv4: (203, 0, 113, 9), port: 40_000)
        if probe == .beforeRegistration {
            Self.reply(client, .probeResult(requestID: probeID, observed: main), from: Self.observation, now: now)
        }
        Self.reply(client, peer.challenge(helloID), now: now)
        guard case .register(let register)? = Self.sent(client, peer, now: now).first?.0 else {
            Issue.record("no REGISTER")
            return
        }
        Self.reply(client, try #require(peer.registered(register, token: 78, observed: main)), now: now)
        let first = Self.sent(client, peer, now: now)
        switch probe {
        case .beforeRegistration:
            #expect(
                first.contains { if case .connect(let m) = $0.0 { m.nat == .endpointIndependent } else { false } },
                "\(first)")
        case .afterRegistration:
            #expect(
                !first.contains { if case .connect = $0.0 { true } else { false } },
                "CONNECT before the NAT is known: \(first)")
            now = now + .milliseconds(30)
            Self.reply(client, .probeResult(requestID: probeID, observed: main), from: Self.observation, now: now)
            #expect(
                Self.sent(client, peer, now: now).contains {
                    if case .connect(let m) = $0.0 { m.nat == .endpointIndependent } else { false }
                })
        case .never:
            #expect(
                !first.contains { if case .connect = $0.0 { true } else { false } },
                "CONNECT before the NAT is known: \(first)")
            #expect(try #require(client.nextDeadline()) <= now + config.initialRetransmit)
            now = now + config.initialRetransmit
            #expect(
                Self.sent(client, peer, now: now).contains {
                    if case .connect(let m) = $0.0 { m.nat == .unknown } else { false }
                })
        }
    }

    @Test func serverStoresTheNATAndPassesBothToTheSession() throws {
        let h = ServerHarness()
        let deviceToken = try #require(h.token(.device, uuid: "CAM", from: Addr.device))
        let clientToken = try #require(h.token(.client, uuid: "c1", from: Addr.client))
        let ack = h.request(
            .keepalive(requestID: 3, token: deviceToken, nat: .endpointDependent(delta: 9_000)), from: Addr.device)
        #expect(ack == .keepaliveAck(requestID: 3, observed: Addr.device))
        #expect(h.core.registry.lookup(role: .device, uuid: "CAM")?.nat == .endpointDependent(delta: 9_000))
        // An unknown one later does not erase it.
        _ = h.request(.keepalive(requestID: 4, token: deviceToken), from: Addr.device)
        #expect(h.core.registry.lookup(role: .device, uuid: "CAM")?.nat == .endpointDependent(delta: 9_000))

        let out = h.send(
            .connect(
                .init(
                    requestID: 5, token: clientToken, uuid: "CAM", clientConnectionID: ConnectionID(rawValue: 0xC1D),
                    candidates: [Addr.deviceLAN], nat: .endpointIndependent)), from: Addr.client)
        var result: SignalingMessage.ConnectResult?
        var introduce: SignalingMessage.Introduce?
        for o in out {
            if case .connectResult(let r)? = o.message { result = r }
            if case .introduce(let i)? = o.message { introduce = i }
        }
        #expect(result?.deviceNAT == .endpointDependent(delta: 9_000))
        #expect(introduce?.clientNAT == .endpointIndependent)
        #expect(introduce?.clientCandidates == [Addr.deviceLAN])
    }
}
