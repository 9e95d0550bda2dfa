// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import T2UCore
import Testing

@testable import T2UServer

/// A restarted server has no relay sessions: packets for them get a small RELAY_UNKNOWN, and
/// the client restores its session with a CONNECT naming both connection IDs (a resume).
@Suite struct RelayResumeTests {
    typealias C = ServerCoreConnectTests
    static let clientCID = ConnectionID(rawValue: C.clientCID)
    static let deviceCID = ConnectionID(rawValue: C.deviceCID)

    static func resume(
        _ h: ServerHarness, token: UInt64, uuid: String = "CAM-1", clientCID: ConnectionID = clientCID,
        deviceCID: ConnectionID = deviceCID, from source: NetAddress = Addr.client, id: UInt32 = 40
    ) -> [ServerHarness.Output] {
        h.send(
            .connect(
                .init(
                    requestID: id, token: token, uuid: uuid, clientConnectionID: clientCID, candidates: [],
                    resumeDeviceConnectionID: deviceCID)), from: source)
    }

    @Test func unknownSessionIsToldNeverLargerAndRateLimitedPerSource() {
        let h = ServerHarness()
        // Every relayed packet type, each answered with the CID it carried (data: destination).
        let packets: [([UInt8], UInt64)] = [
            (TransportBytes.data(destinationCID: 0xAAAA, payload: 0), 0xAAAA),
            (TransportBytes.initiation(initiatorCID: 0xBBBB, payload: 4), 0xBBBB),
            (TransportBytes.response(initiatorCID: 0xCCCC, responderCID: 1, payload: 0), 0xCCCC),
        ]
        for (bytes, cid) in packets {
            let out = h.sendRaw(bytes, from: Addr.client)
            #expect(out.count == 1)
            #expect(out.first?.message == .relayUnknown(requestID: 0, connectionID: ConnectionID(rawValue: cid)))
            #expect(out.first?.transmit == ServerTransmit(destination: Addr.client, socket: .main))
            #expect((out.first?.bytes.count ?? .max) <= bytes.count)
        }
        // A packet smaller than the reply (still naming a CID) gets nothing: no amplification.
        let tiny = Array(TransportBytes.initiation(initiatorCID: 0xDDDD, payload: 0))
        #expect(tiny.count < 13)
        #expect(h.sendRaw(tiny, from: Addr.client).isEmpty)
        #expect(h.core.counters[.amplification] == 1)

        // A flood from one source is answered up to its small burst only; other sources, and the
        // flooding source's own signaling (its re-registration), are unaffected.
        var answered = 0
        for i in 0..<200 {
            answered += h.sendRaw(TransportBytes.data(destinationCID: UInt64(i) + 1), from: Addr.stranger).count
        }
        #expect(answered == Int(ServerCore.relayUnknownBurst))
        #expect(h.core.counters[.rateLimited] == 200 - answered)
        #expect(h.send(.hello(requestID: 1, role: .device), from: Addr.stranger).count == 1)
        #expect(h.sendRaw(TransportBytes.data(destinationCID: 7), from: Addr.device).count == 1)
        h.advance(by: .seconds(1))
        #expect(h.sendRaw(TransportBytes.data(destinationCID: 7), from: Addr.stranger).count == 1, "the budget refills")
        #expect(h.core.counters.relayUnknownSent == UInt64(3 + answered + 2))
        #expect(h.core.counters.relayedPackets == 0)
    }

    @Test func resumeRestoresTheSessionWithBothIDsAndNoIntroduction() throws {
        let h = ServerHarness()
        let (_, clientToken) = try C.setUp(h)
        let out = Self.resume(h, token: clientToken)
        #expect(out.count == 1, "only the CONNECT_RESULT: no INTRODUCE for a resume")
        guard case .connectResult(let r)? = out.first?.message else {
            Issue.record("no result: \(out)")
            return
        }
        #expect(r.online)
        #expect(h.core.sessionCount == 1)
        #expect(h.core.counters.relayResumes == 1)
        #expect(h.core.counters.connects == 0)
        #expect(h.advance(by: .seconds(5)).filter { $0.transmit.destination == Addr.device }.isEmpty)

        // Data flows both ways at once (no handshake response needed to learn the device's CID).
        let toDevice = TransportBytes.data(destinationCID: C.deviceCID, payload: 900)
        #expect(h.sendRaw(toDevice, from: Addr.client).map(\.transmit.destination) == [Addr.device])
        let toClient = TransportBytes.data(destinationCID: C.clientCID, payload: 300)
        #expect(h.sendRaw(toClient, from: Addr.device).map(\.transmit.destination) == [Addr.client])
        #expect(h.core.counters.relayedPackets == 2)

        // A retransmitted resume gets the same session.
        guard case .connectResult(let again)? = Self.resume(h, token: clientToken).first?.message else {
            Issue.record("no answer to the retransmission")
            return
        }
        #expect(again.sessionID == r.sessionID)
        #expect(h.core.sessionCount == 1)
    }

    @Test func resumeWaitsForTheDeviceAndNeedsTheClientsToken() throws {
        let h = ServerHarness()
        let clientToken = try #require(h.token(.client, uuid: "client-1", from: Addr.client))
        // Device not registered again yet: offline, nothing created.
        guard case .connectResult(let offline)? = Self.resume(h, token: clientToken).first?.message else {
            Issue.record("no answer")
            return
        }
        #expect(!offline.online)
        #expect(h.core.sessionCount == 0)
        _ = try #require(h.token(.device, uuid: "CAM-1", from: Addr.device))
        // A token without its channel's keys (in clear, from anywhere) is refused without an answer;
        // a sealed CONNECT naming another token than its channel is dropped.
        let resume = SignalingMessage.connect(
            .init(
                requestID: 40, token: clientToken, uuid: "CAM-1", clientConnectionID: Self.clientCID,
                candidates: [], resumeDeviceConnectionID: Self.deviceCID))
        #expect(h.sendBare(resume, from: Addr.stranger).isEmpty)
        #expect(Self.resume(h, token: clientToken &+ 1).isEmpty)
        let mismatched = h.channels[clientToken]!.seal(
            .connect(
                .init(
                    requestID: 41, token: clientToken &+ 1, uuid: "CAM-1", clientConnectionID: Self.clientCID,
                    candidates: [],
                    resumeDeviceConnectionID: Self.deviceCID)))
        #expect(h.sendRaw(ServerSamples.bytes(.sealed(mismatched)), from: Addr.client).isEmpty)
        #expect(h.core.counters[.unsealed] == 2)
        #expect(h.core.sessionCount == 0)
        guard case .connectResult(let r)? = Self.resume(h, token: clientToken).first?.message else {
            Issue.record("no answer")
            return
        }
        #expect(r.online)
        #expect(h.core.sessionCount == 1)
    }

    /// An idle device may not have noticed the restart: a resume naming where the device was
    /// registered nudges it there (a RELAY_UNKNOWN, smaller than the CONNECT), a trickle per
    /// destination however often clients ask.
    @Test func resumeForAnUnregisteredDeviceNudgesItAtTheNamedAddress() throws {
        let h = ServerHarness()
        let clientToken = try #require(h.token(.client, uuid: "client-1", from: Addr.client))
        var connect = SignalingMessage.Connect(
            requestID: 50, token: clientToken, uuid: "CAM-1", clientConnectionID: Self.clientCID,
            candidates: [], resumeDeviceConnectionID: Self.deviceCID, resumeDeviceAddress: Addr.device)
        let out = h.send(.connect(connect), from: Addr.client)
        #expect(out.count == 2)
        let nudge = out.first { $0.transmit.destination == Addr.device }
        #expect(nudge?.message == .relayUnknown(requestID: 0, connectionID: Self.deviceCID))
        #expect((nudge?.bytes.count ?? .max) < ServerSamples.bytes(.connect(connect)).count)
        guard case .connectResult(let r)? = out.first(where: { $0.transmit.destination == Addr.client })?.message else {
            Issue.record("no answer: \(out)")
            return
        }
        #expect(!r.online)
        // Repeated resumes: the device is nudged at most its small burst, then a trickle.
        var nudges = 0
        for i in 0..<50 {
            connect.requestID = UInt32(60 + i)
            nudges +=
                h.send(.connect(connect), from: Addr.client).filter { $0.transmit.destination == Addr.device }.count
        }
        #expect(nudges == Int(ServerCore.relayUnknownBurst) - 1)
        // Without a named address, nothing goes anywhere but the answer.
        h.advance(by: .seconds(3))
        connect.resumeDeviceAddress = nil
        #expect(h.send(.connect(connect), from: Addr.client).map(\.transmit.destination) == [Addr.client])
    }

    @Test func resumeCannotTakeOverAnotherClientsSession() throws {
        let h = ServerHarness()
        let (_, clientToken) = try C.setUp(h)
        _ = C.connect(h, clientToken: clientToken)
        let response = TransportBytes.response(initiatorCID: C.clientCID, responderCID: C.deviceCID)
        #expect(h.sendRaw(response, from: Addr.device).count == 1)
        let sessions = h.core.sessionCount

        // Another registered client names the live session's IDs, either or both: refused.
        let other = NetAddress(ipv4: (198, 51, 100, 77), port: 4000)
        let otherToken = try #require(h.token(.client, uuid: "client-2", from: other))
        let attempts: [(ConnectionID, ConnectionID)] = [
            (Self.clientCID, Self.deviceCID), (Self.clientCID, ConnectionID(rawValue: 0x5555)),
            (ConnectionID(rawValue: 0x6666), Self.deviceCID),
        ]
        for (client, device) in attempts {
            let out = Self.resume(h, token: otherToken, clientCID: client, deviceCID: device, from: other)
            #expect(out.count == 1)
            #expect(out.first?.message == .error(requestID: 40, code: .malformed), "\(client) \(device)")
        }
        // The owner itself cannot rebind its session to another device CID either.
        #expect(
            Self.resume(h, token: clientToken, deviceCID: ConnectionID(rawValue: 0x7777)).first?.message
                == .error(requestID: 40, code: .malformed))
        #expect(h.core.sessionCount == sessions)
        // The session still relays for its owner only.
        #expect(
            h.sendRaw(TransportBytes.data(destinationCID: C.deviceCID), from: Addr.client).map(\.transmit.destination)
                == [Addr.device])
        #expect(
            h.sendRaw(TransportBytes.data(destinationCID: C.deviceCID), from: other).map(\.transmit.destination) == [
                other
            ],
            "another client is told RELAY_UNKNOWN, never forwarded")
        // The owner's resume of its live session is answered with that session.
        guard case .connectResult(let r)? = Self.resume(h, token: clientToken).first?.message else {
            Issue.record("no answer")
            return
        }
        #expect(r.online)
        #expect(h.core.sessionCount == sessions)
    }
}
