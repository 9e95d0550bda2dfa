// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import T2UCore
import Testing

@testable import T2UServer

@Suite struct PathReportTests {
    /// Device and client registered, one session; returns (deviceToken, clientToken, sessionID).
    static func session(_ h: ServerHarness) throws -> (UInt64, UInt64, UInt64) {
        let (device, client) = try ServerCoreConnectTests.setUp(h)
        let (result, _) = ServerCoreConnectTests.connect(h, clientToken: client)
        return (device, client, try #require(result?.sessionID))
    }

    @Test func countsTheFirstReportOfASessionByNATPairAndPath() throws {
        let h = ServerHarness()
        let (deviceToken, clientToken, sessionID) = try Self.session(h)
        #expect(h.core.counters.connects == 1)

        // Fire-and-forget: never answered.
        #expect(
            h.send(
                .pathReport(requestID: 30, token: clientToken, sessionID: sessionID, path: .direct), from: Addr.client
            ).isEmpty)
        let outcome = PunchOutcome(clientNAT: "unknown", deviceNAT: "unknown", path: .direct)
        #expect(h.core.counters.pathReports == 1)
        #expect(h.core.counters.punchOutcomes == [outcome: 1])

        // A second report of the same session (another path, or a duplicate) is not counted again.
        #expect(
            h.send(
                .pathReport(requestID: 31, token: clientToken, sessionID: sessionID, path: .relay), from: Addr.client
            ).isEmpty)
        #expect(h.core.counters.punchOutcomes == [outcome: 1])

        let rejectedBefore = h.core.counters.totalRejected
        // The device is not the session's client; an unknown session; a stranger with the token.
        #expect(
            h.send(.pathReport(requestID: 32, token: deviceToken, sessionID: sessionID, path: .lan), from: Addr.device)
                .isEmpty)
        #expect(
            h.send(.pathReport(requestID: 33, token: clientToken, sessionID: 999, path: .lan), from: Addr.client)
                .isEmpty)
        #expect(
            h.sendBare(
                .pathReport(requestID: 34, token: clientToken, sessionID: sessionID, path: .lan), from: Addr.stranger
            ).isEmpty)
        #expect(h.core.counters.totalRejected == rejectedBefore + 3)
        #expect(h.core.counters[.relayUnknownSession] == 2)
        #expect(h.core.counters.pathReports == 1)
    }

    @Test func natLabelsAreFewAndNamed() {
        let h = ServerHarness()
        let record = { (nat: NATBehavior) in
            PresenceRecord(
                role: .client, uuid: "c", address: Addr.client, publicKey: [], extra: [], candidates: [],
                lastSeen: .zero,
                homeServerID: "t", token: 1, nat: nat)
        }
        #expect(h.core.natLabel(for: record(.unknown)) == "unknown")
        #expect(h.core.natLabel(for: record(.none)) == "none")
        #expect(h.core.natLabel(for: record(.endpointIndependent)) == "endpoint_independent")
        #expect(h.core.natLabel(for: record(.endpointDependent(delta: -2))) == "endpoint_dependent_sequential")
        #expect(h.core.natLabel(for: record(.endpointDependent(delta: 16))) == "endpoint_dependent_sequential")
        #expect(h.core.natLabel(for: record(.endpointDependent(delta: 31_000))) == "endpoint_dependent_random")
    }

    @Test func reportsAreCountedByTheNATsTheAgentsRegisteredWith() throws {
        let h = ServerHarness()
        func register(_ role: SignalingRole, _ uuid: String, _ source: NetAddress, nat: NATBehavior) throws -> UInt64 {
            let cookie = try #require(h.cookie(for: source, role: role))
            let initiator = try SignalingRegistration.Initiator(
                requestID: 2, role: role, cookie: cookie, identity: h.identity(uuid),
                serverPublicKey: h.serverPublicKey,
                payload: RegistrationPayload(uuid: uuid, extra: [], candidates: [], nat: nat), entropy: h.entropy)
            guard
                case .registered(_, let ephemeral, let encrypted)? = h.request(
                    .register(initiator.message), from: source)
            else {
                throw CancellationError()
            }
            let (answer, channel) = try initiator.complete(ephemeral: ephemeral, encryptedPayload: encrypted)
            h.channels[answer.token] = channel
            return answer.token
        }
        _ = try register(.device, "CAM-1", Addr.device, nat: .endpointDependent(delta: 9000))
        let client = try register(.client, "client-1", Addr.client, nat: .endpointIndependent)
        let (result, _) = ServerCoreConnectTests.connect(h, clientToken: client)
        let session = try #require(result?.sessionID)
        h.send(.pathReport(requestID: 3, token: client, sessionID: session, path: .relay), from: Addr.client)
        #expect(
            h.core.counters.punchOutcomes == [
                PunchOutcome(clientNAT: "endpoint_independent", deviceNAT: "endpoint_dependent_random", path: .relay): 1
            ])
    }

    @Test func signalingClientReportsOnlyOnceRegistered() throws {
        let h = ServerHarness()
        _ = try #require(h.token(.device, uuid: "CAM-1", from: Addr.device))
        let server = NetAddress(ipv4: (192, 0, 2, 1), port: 7000)
        let client = try SignalingClient(
            config: SignalingClientConfig(role: .client, uuid: "client-9", server: server),
            entropy: SeededEntropy(seed: 9), now: h.now)
        #expect(!client.report(sessionID: 1, path: .direct, now: h.now))

        /// Exchanges datagrams between the client and the core until both are quiet.
        func pump() {
            for _ in 0..<20 {
                var moved = false
                var buffer = ByteBuffer()
                while client.pollTransmit(now: h.now, into: &buffer) != nil {
                    moved = true
                    for out in h.sendRaw(Array(buffer.readableBytesView), from: Addr.client)
                    where out.transmit.destination == Addr.client {
                        client.receive(ByteBuffer(bytes: out.bytes), from: server, now: h.now)
                    }
                }
                if !moved { return }
            }
        }
        pump()
        #expect(client.status == .registered)
        let request = client.connect(
            uuid: "CAM-1", clientConnectionID: ConnectionID(rawValue: 0xABC), candidates: [], now: h.now)
        pump()
        var sessionID: UInt64?
        while let event = client.pollEvent() {
            if case .connectResult(request, let result) = event { sessionID = result.sessionID }
        }
        let session = try #require(sessionID)
        #expect(client.report(sessionID: session, path: .relay, now: h.now))
        pump()
        #expect(
            h.core.counters.punchOutcomes == [PunchOutcome(clientNAT: "unknown", deviceNAT: "unknown", path: .relay): 1]
        )
    }
}
