// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import T2UCore
import Testing

@testable import T2UServer

@Suite struct ServerCoreRegistrationTests {
    @Test func registersWithIKAndStatesTheServerKey() throws {
        let h = ServerHarness()
        guard
            case .challenge(1, let cookie, let serverKey)? = h.request(
                .hello(requestID: 1, role: .device), from: Addr.device)
        else {
            Issue.record("no challenge")
            return
        }
        #expect(serverKey == h.serverPublicKey)
        #expect(cookie.count == SignalingLimits.cookieLength)
        let reply = h.register(.device, uuid: "CAM-1", from: Addr.device)
        guard case .registered(2, _, _)? = reply, let answer = h.lastAnswer else {
            Issue.record("not registered: \(String(describing: reply))")
            return
        }
        #expect(answer.observed == Addr.device)
        #expect(answer.keepaliveSeconds == 20)
        // The key on record is the one the handshake authenticated.
        #expect(h.core.registry.lookup(token: answer.token)?.publicKey == h.identity("CAM-1").publicKey)
        #expect(h.core.bindings.boundKey(uuid: "CAM-1") == h.identity("CAM-1").publicKey)
        #expect(h.core.counters.registrations == 1)
    }

    @Test func registerEncryptedToAnotherServerKeyIsRefused() {
        let h = ServerHarness()
        let otherServer = StaticIdentity.generate(SeededEntropy(seed: 99))
        let reply = h.register(.client, uuid: "me", from: Addr.client, serverKey: otherServer.publicKey)
        #expect(reply == .error(requestID: 2, code: .serverKeyRejected))
        #expect(h.core.registry.lookup(role: .client, uuid: "me") == nil)
        #expect(h.core.counters[.serverKeyRejected] == 1)
    }

    @Test func cookieIsBoundToAddressAndTime() {
        let h = ServerHarness()
        guard let cookie = h.cookie(for: Addr.device) else {
            Issue.record("no cookie")
            return
        }
        let register = SignalingMessage.register(
            h.registration(.device, uuid: "CAM-1", cookie: cookie, identity: h.identity("CAM-1"), requestID: 3).message)
        #expect(h.request(register, from: Addr.stranger) == .error(requestID: 3, code: .badCookie))
        h.advance(by: .seconds(70))
        #expect(h.request(register, from: Addr.device) == .error(requestID: 3, code: .badCookie))
        #expect(h.core.counters[.badCookie] == 2)
        #expect(h.core.registry.count == 0)
    }

    @Test func presenceExpiresWithoutKeepalives() throws {
        let h = ServerHarness()
        let deviceToken = try #require(h.token(.device, uuid: "CAM-1", from: Addr.device))
        let clientToken = try #require(h.token(.client, uuid: "client-1", from: Addr.client))
        guard
            case .queryResult(let online)? = h.request(
                .query(requestID: 5, token: clientToken, uuid: "CAM-1"), from: Addr.client)
        else {
            Issue.record("no query result")
            return
        }
        #expect(online.online)

        // The client keeps alive, the device falls silent.
        for _ in 0..<4 {
            h.advance(by: .seconds(20))
            #expect(
                h.request(.keepalive(requestID: 6, token: clientToken), from: Addr.client)
                    == .keepaliveAck(requestID: 6, observed: Addr.client))
        }
        guard
            case .queryResult(let offline)? = h.request(
                .query(requestID: 7, token: clientToken, uuid: "CAM-1"), from: Addr.client)
        else {
            Issue.record("no query result")
            return
        }
        #expect(!offline.online)
        #expect(offline.publicAddress == nil)
        #expect(h.core.counters.expirations == 1)
        // The device's old channel is gone: its keepalive is told (bare, named by the channel's low
        // 32 bits) to register again.
        #expect(
            h.request(.keepalive(requestID: 8, token: deviceToken), from: Addr.device)
                == .error(requestID: UInt32(truncatingIfNeeded: deviceToken), code: .unknownSession))
    }

    /// A silent agent is offline once its keepalive period and the two retransmissions of a
    /// lost keepalive have passed (keepalive + `keepaliveGrace`), not three periods later.
    @Test func silentAgentExpiresAfterKeepalivePlusTwoProbes() throws {
        let h = ServerHarness()
        let presence = h.core.config.presenceTimeout
        #expect(presence == .seconds(Int64(h.core.config.keepaliveSeconds)) + ServerConfig.keepaliveGrace)
        _ = try #require(h.token(.device, uuid: "CAM-1", from: Addr.device))
        let clientToken = try #require(h.token(.client, uuid: "client-1", from: Addr.client))
        func online(_ id: UInt32) -> Bool? {
            guard
                case .queryResult(let answer)? = h.request(
                    .query(requestID: id, token: clientToken, uuid: "CAM-1"), from: Addr.client)
            else { return nil }
            return answer.online
        }
        h.advance(by: presence - .seconds(1))
        #expect(online(10) == true, "offline before keepalive + grace")
        h.advance(by: .seconds(2))
        #expect(online(11) == false, "still online after keepalive + grace (\(presence))")
        #expect(h.core.counters.expirations == 1)
    }

    @Test func queryReturnsExtraPublicAddressAndKey() throws {
        let h = ServerHarness()
        let extra = Array("model=NVR-8;fw=2.1".utf8)
        _ = try #require(h.token(.device, uuid: "CAM-1", from: Addr.device, extra: extra, candidates: [Addr.deviceLAN]))
        let clientToken = try #require(h.token(.client, uuid: "client-1", from: Addr.client))
        let reply = h.request(.query(requestID: 5, token: clientToken, uuid: "CAM-1"), from: Addr.client)
        #expect(
            reply
                == .queryResult(
                    .init(
                        requestID: 5, online: true, publicAddress: Addr.device,
                        publicKey: h.identity("CAM-1").publicKey, extra: extra)))
        let unknown = h.request(.query(requestID: 6, token: clientToken, uuid: "nope"), from: Addr.client)
        #expect(
            unknown == .queryResult(.init(requestID: 6, online: false, publicAddress: nil, publicKey: [], extra: [])))
        // A token without the channel's keys buys nothing: no answer at all.
        #expect(h.sendBare(.query(requestID: 7, token: clientToken, uuid: "CAM-1"), from: Addr.stranger).isEmpty)
        #expect(h.core.counters[.unsealed] == 1)
    }

    @Test func probeOnObservationPortReportsTheObservedAddress() {
        let h = ServerHarness()
        let out = h.send(.probe(requestID: 3), from: Addr.client, on: .observation)
        #expect(out.count == 1)
        #expect(out.first?.transmit == ServerTransmit(destination: Addr.client, socket: .observation))
        #expect(out.first?.message == .probeResult(requestID: 3, observed: Addr.client))
        // The observation port serves nothing else.
        #expect(h.send(.keepalive(requestID: 4, token: 1), from: Addr.client, on: .observation).isEmpty)
        #expect(h.core.counters[.unexpectedMessage] == 1)
    }

    @Test func probeFromOtherPortIsAnsweredFromTheObservationPortOnly() {
        let h = ServerHarness()
        // Asked of the main port: the same answer, leaving from the observation port.
        let out = h.send(.probeFromOtherPort(requestID: 5), from: Addr.client, on: .main)
        #expect(out.count == 1)
        #expect(out.first?.transmit == ServerTransmit(destination: Addr.client, socket: .observation))
        #expect(out.first?.message == .probeResult(requestID: 5, observed: Addr.client))
        // Asked of the observation port: refused (it answers only PROBE and HELLO as sent).
        #expect(h.send(.probeFromOtherPort(requestID: 6), from: Addr.client, on: .observation).isEmpty)
        #expect(h.core.counters[.unexpectedMessage] == 1)
    }
}

@Suite struct ServerCoreConnectTests {
    /// Device and client registered; returns (deviceToken, clientToken).
    static func setUp(_ h: ServerHarness) throws -> (UInt64, UInt64) {
        let device = try #require(h.token(.device, uuid: "CAM-1", from: Addr.device, candidates: [Addr.deviceLAN]))
        let client = try #require(h.token(.client, uuid: "client-1", from: Addr.client))
        return (device, client)
    }

    static let clientCID: UInt64 = 0xC1C1_C1C1
    static let deviceCID: UInt64 = 0xDEDE_DEDE

    /// CONNECT naming `cid` (another one than before: a new session, as a relayed link's fresh
    /// look for a direct path is).
    static func connect(
        _ h: ServerHarness, clientToken: UInt64, cid: UInt64 = clientCID
    )
        -> (SignalingMessage.ConnectResult?, SignalingMessage.Introduce?)
    {
        let out = h.send(
            .connect(
                .init(
                    requestID: 10, token: clientToken, uuid: "CAM-1",
                    clientConnectionID: ConnectionID(rawValue: cid),
                    candidates: [NetAddress(ipv4: (10, 0, 0, 2), port: 5555)])), from: Addr.client)
        var result: SignalingMessage.ConnectResult?
        var introduce: SignalingMessage.Introduce?
        for o in out {
            if case .connectResult(let r)? = o.message, o.transmit.destination == Addr.client { result = r }
            if case .introduce(let i)? = o.message, o.transmit.destination == Addr.device { introduce = i }
        }
        return (result, introduce)
    }

    @Test func connectIntroducesBothSides() throws {
        let h = ServerHarness()
        let (deviceToken, clientToken) = try Self.setUp(h)
        let (result, introduce) = Self.connect(h, clientToken: clientToken)
        let r = try #require(result)
        let i = try #require(introduce)
        #expect(r.online)
        #expect(r.relayAllowed)
        #expect(r.devicePublicKey == h.identity("CAM-1").publicKey)
        #expect(r.deviceCandidates == [Addr.device, Addr.deviceLAN])
        #expect(i.sessionID == r.sessionID)
        #expect(i.clientConnectionID.rawValue == Self.clientCID)
        #expect(i.clientPublicAddress == Addr.client)
        #expect(i.clientCandidates == [NetAddress(ipv4: (10, 0, 0, 2), port: 5555)])

        // INTRODUCE is retransmitted until acknowledged, then stops.
        let resent = h.advance(by: .seconds(1)).filter { $0.transmit.destination == Addr.device }
        #expect(resent.count >= 1)
        #expect(resent.allSatisfy { $0.message == .introduce(i) })
        #expect(
            h.send(.introduceAck(requestID: i.requestID, token: deviceToken, sessionID: i.sessionID), from: Addr.device)
                .isEmpty)
        #expect(h.advance(by: .seconds(10)).isEmpty)

        // A retransmitted CONNECT gets the same session, without a second session.
        let (again, _) = Self.connect(h, clientToken: clientToken)
        #expect(again?.sessionID == r.sessionID)
        #expect(h.core.sessionCount == 1)
    }

    @Test func connectToOfflineDeviceSaysSo() throws {
        let h = ServerHarness()
        let client = try #require(h.token(.client, uuid: "client-1", from: Addr.client))
        let (result, introduce) = Self.connect(h, clientToken: client)
        #expect(result?.online == false)
        #expect(introduce == nil)
        #expect(h.core.sessionCount == 0)
    }

    @Test func relayForwardsByConnectionIDBothWaysAndRefusesStrangers() throws {
        let h = ServerHarness()
        let (_, clientToken) = try Self.setUp(h)
        _ = Self.connect(h, clientToken: clientToken)

        // Client -> device: handshake initiation, routed by the client's CID from CONNECT.
        let initiation = TransportBytes.initiation(initiatorCID: Self.clientCID)
        var out = h.sendRaw(initiation, from: Addr.client)
        #expect(out.map(\.bytes) == [initiation])
        #expect(out.first?.transmit == ServerTransmit(destination: Addr.device, socket: .main))

        // Device -> client: the response teaches the relay the device's CID.
        let response = TransportBytes.response(initiatorCID: Self.clientCID, responderCID: Self.deviceCID)
        out = h.sendRaw(response, from: Addr.device)
        #expect(out.map(\.bytes) == [response])
        #expect(out.first?.transmit.destination == Addr.client)

        // Data both ways, by destination CID, bytes unchanged.
        let toDevice = TransportBytes.data(destinationCID: Self.deviceCID, payload: 1200)
        out = h.sendRaw(toDevice, from: Addr.client)
        #expect(out.map(\.bytes) == [toDevice])
        #expect(out.first?.transmit.destination == Addr.device)
        let toClient = TransportBytes.data(destinationCID: Self.clientCID, payload: 700)
        out = h.sendRaw(toClient, from: Addr.device)
        #expect(out.map(\.bytes) == [toClient])
        #expect(out.first?.transmit.destination == Addr.client)
        #expect(h.core.counters.relayedPackets == 4)
        #expect(
            h.core.counters.relayedBytes == UInt64(initiation.count + response.count + toDevice.count + toClient.count))

        // A stranger using a live CID is never forwarded to; it is told RELAY_UNKNOWN (a party
        // whose address changed resumes over its sealed channel: relayFollowsAClientThatMoved).
        let unknownDevice = SignalingMessage.relayUnknown(
            requestID: 0, connectionID: ConnectionID(rawValue: Self.deviceCID))
        let unknownClient = SignalingMessage.relayUnknown(
            requestID: 0, connectionID: ConnectionID(rawValue: Self.clientCID))
        out = h.sendRaw(TransportBytes.data(destinationCID: Self.deviceCID), from: Addr.stranger)
        #expect(out.map(\.message) == [unknownDevice] && out.first?.transmit.destination == Addr.stranger)
        out = h.sendRaw(TransportBytes.initiation(initiatorCID: Self.clientCID), from: Addr.stranger)
        #expect(out.map(\.message) == [unknownClient] && out.first?.transmit.destination == Addr.stranger)
        // A party sending to itself, or a response from the client's side: dropped silently.
        #expect(h.sendRaw(TransportBytes.data(destinationCID: Self.clientCID), from: Addr.client).isEmpty)
        #expect(
            h.sendRaw(TransportBytes.response(initiatorCID: Self.clientCID, responderCID: 5), from: Addr.client).isEmpty
        )
        #expect(h.core.counters[.relayStranger] == 4)
        #expect(h.core.counters.relayedPackets == 4, "nothing a stranger sent was forwarded")
        // An unknown CID: not forwarded; the sender is told (RELAY_UNKNOWN, see RelayResumeTests).
        #expect(
            h.sendRaw(TransportBytes.data(destinationCID: 0x1234), from: Addr.client).map(\.message)
                == [.relayUnknown(requestID: 0, connectionID: ConnectionID(rawValue: 0x1234))])
        #expect(h.core.counters[.relayUnknownSession] == 1)
        #expect(h.sendRaw([0x04, 0, 1, 2], from: Addr.client).isEmpty)
        #expect(h.core.counters[.malformed] == 1)
    }

    @Test func relayFollowsARebindingDevice() throws {
        let h = ServerHarness()
        let (deviceToken, clientToken) = try Self.setUp(h)
        _ = Self.connect(h, clientToken: clientToken)
        let moved = NetAddress(ipv4: (198, 51, 100, 10), port: 50_123)
        #expect(
            h.request(.keepalive(requestID: 3, token: deviceToken), from: moved)
                == .keepaliveAck(requestID: 3, observed: moved))
        let initiation = TransportBytes.initiation(initiatorCID: Self.clientCID)
        #expect(h.sendRaw(initiation, from: Addr.client).first?.transmit.destination == moved)
    }

    /// A client whose address changed mid-session (its interface went away): its relayed data
    /// from the new address is refused with RELAY_UNKNOWN until its sealed resume proves it, then
    /// the session relays from and to the new address, and the old address is a stranger.
    @Test func relayFollowsAClientThatMoved() throws {
        let h = ServerHarness()
        let (_, clientToken) = try Self.setUp(h)
        _ = Self.connect(h, clientToken: clientToken)
        _ = h.sendRaw(
            TransportBytes.response(initiatorCID: Self.clientCID, responderCID: Self.deviceCID), from: Addr.device)
        let moved = NetAddress(ipv4: (203, 0, 113, 1), port: 3936)
        let toDevice = TransportBytes.data(destinationCID: Self.deviceCID, payload: 600)
        #expect(
            h.sendRaw(toDevice, from: moved).map(\.message)
                == [.relayUnknown(requestID: 0, connectionID: ConnectionID(rawValue: Self.deviceCID))])
        let resumed = RelayResumeTests.resume(h, token: clientToken, from: moved)
        guard case .connectResult(let result)? = resumed.first?.message else {
            Issue.record("no result: \(resumed)")
            return
        }
        #expect(result.online)
        #expect(h.sendRaw(toDevice, from: moved).first?.transmit.destination == Addr.device)
        let toClient = TransportBytes.data(destinationCID: Self.clientCID, payload: 600)
        #expect(h.sendRaw(toClient, from: Addr.device).first?.transmit.destination == moved)
        #expect(
            h.sendRaw(toDevice, from: Addr.client).map(\.message)
                == [.relayUnknown(requestID: 0, connectionID: ConnectionID(rawValue: Self.deviceCID))],
            "the old address is a stranger now")
    }

    @Test func relayIsRateLimitedPerSession() throws {
        var config = ServerConfig()
        config.relayBurstBytes = 10_000
        config.relayBytesPerSecond = 10_000
        let h = ServerHarness(config: config)
        let (_, clientToken) = try Self.setUp(h)
        _ = Self.connect(h, clientToken: clientToken)
        var forwarded = 0
        for _ in 0..<20 {
            forwarded +=
                h.sendRaw(TransportBytes.initiation(initiatorCID: Self.clientCID, payload: 991), from: Addr.client)
                .count
        }
        #expect(forwarded == 10)
        #expect(h.core.counters[.relayRateLimited] == 10)
        h.advance(by: .milliseconds(500))
        #expect(
            h.sendRaw(TransportBytes.initiation(initiatorCID: Self.clientCID, payload: 991), from: Addr.client).count
                == 1)
    }

    @Test func relayCanBeDisabled() throws {
        var config = ServerConfig()
        config.relayAllowed = false
        let h = ServerHarness(config: config)
        let (_, clientToken) = try Self.setUp(h)
        let (result, introduce) = Self.connect(h, clientToken: clientToken)
        #expect(result?.relayAllowed == false)
        #expect(introduce?.relayAllowed == false)
        #expect(h.sendRaw(TransportBytes.initiation(initiatorCID: Self.clientCID), from: Addr.client).isEmpty)
        #expect(h.core.counters[.relayDisabled] == 1)
    }
}

@Suite struct ServerCoreAbuseTests {
    @Test func signalingIsRateLimitedPerSource() {
        let h = ServerHarness()
        var answered = 0
        for i in 0..<100 { answered += h.send(.hello(requestID: UInt32(i), role: .client), from: Addr.stranger).count }
        #expect(answered == 40)
        #expect(h.core.counters[.rateLimited] == 60)
        // Other sources are unaffected, and the limited one recovers with time.
        #expect(h.send(.hello(requestID: 1, role: .client), from: Addr.client).count == 1)
        h.advance(by: .seconds(1))
        #expect(h.send(.hello(requestID: 1, role: .client), from: Addr.stranger).count == 1)
    }

    @Test func noReplyToAnUnverifiedSourceIsLargerThanItsRequest() throws {
        let h = ServerHarness()
        let clientToken = try #require(h.token(.client, uuid: "client-1", from: Addr.client))
        _ = try #require(h.token(.device, uuid: "CAM-1", from: Addr.device, extra: [UInt8](repeating: 9, count: 512)))
        let entropy = SeededEntropy(seed: 7)
        let corpus = ServerSamples.requests(token: clientToken)
        for iteration in 0..<5_000 {
            // Fresh spoofed source every time: never verified, never rate limited.
            let source = NetAddress(
                ipv4: (100, 64, UInt8(iteration >> 8 & 0xff), UInt8(iteration & 0xff)),
                port: UInt16(truncatingIfNeeded: entropy.nextUInt64()) | 1)
            let base = corpus[Int(entropy.next(below: UInt64(corpus.count)))]
            let input = entropy.next(below: 2) == 0 ? base : ServerSamples.mutate(base, entropy)
            for socket in [ServerSocket.main, .observation] {
                for output in h.sendRaw(input, from: source, on: socket) where output.transmit.destination == source {
                    #expect(
                        output.bytes.count <= input.count, "seed 7 iteration \(iteration): \(input) -> \(output.bytes)")
                }
            }
        }
        // Unpadded HELLO gets nothing.
        #expect(
            h.sendRaw(Array(ServerSamples.bytes(.hello(requestID: 1, role: .device)).prefix(6)), from: Addr.stranger)
                .isEmpty)
        #expect(h.core.counters[.unpadded] >= 1)
    }

    @Test func garbageIsCountedNotAnswered() {
        let h = ServerHarness()
        let entropy = SeededEntropy(seed: 11)
        for _ in 0..<2_000 {
            let port = UInt16(entropy.next(below: 60_000) + 1)
            #expect(
                h.sendRaw(
                    entropy.bytes(Int(entropy.next(below: 100))), from: NetAddress(ipv4: (100, 64, 0, 1), port: port)
                )
                .allSatisfy { $0.bytes.count <= 100 })
        }
        #expect(h.core.counters.totalRejected + h.core.counters.signalingReplies >= 1_900)
    }
}

func containsSubsequence(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
    guard needle.count <= haystack.count else { return false }
    for start in 0...(haystack.count - needle.count) where Array(haystack[start..<(start + needle.count)]) == needle {
        return true
    }
    return false
}

@Suite struct SourceRateLimiterTests {
    @Test func fullTableEvictsTheLeastRecentlyUsedPrefixAndNeverRefusesANewOne() {
        var limiter = SourceRateLimiter(rate: 1, burst: 2, capacity: 3)
        let now = Instant(nanoseconds: 0)
        let sources = (0..<5).map { NetAddress(ipv4: (10, 0, UInt8($0), 1), port: 1) }
        for source in sources.prefix(3) {
            let allowed = limiter.allow(source, now: now)
            #expect(allowed)
        }
        // Source 0 is used again, so source 1 is the least recently used.
        _ = limiter.allow(sources[0], now: now)
        let fourth = limiter.allow(sources[3], now: now)  // full: evicts source 1, admitted
        #expect(fourth)
        #expect(limiter.trackedSources == 3)
        // Source 0 kept its (now empty) bucket; source 1 comes back with a fresh one.
        let zero = limiter.allow(sources[0], now: now)
        #expect(!zero)
        let one = limiter.allow(sources[1], now: now)
        #expect(one)
        #expect(limiter.trackedSources == 3)
    }

    @Test func keysByPrefix() {
        var limiter = SourceRateLimiter(rate: 1, burst: 2, capacity: 10)
        let now = Instant(nanoseconds: 0)
        func allow(_ address: NetAddress) -> Bool { limiter.allow(address, now: now) }
        // Two hosts of one /24 share a bucket; another /24 has its own.
        let first = [
            allow(NetAddress(ipv4: (10, 0, 0, 1), port: 1)), allow(NetAddress(ipv4: (10, 0, 0, 200), port: 9)),
            allow(NetAddress(ipv4: (10, 0, 0, 7), port: 2)), allow(NetAddress(ipv4: (10, 0, 1, 1), port: 1)),
        ]
        #expect(first == [true, true, false, true])
        // IPv6: the /64.
        let second = [
            allow(NetAddress(host: .v6(0x2001_0db8_0000_0001, 1), port: 1)),
            allow(NetAddress(host: .v6(0x2001_0db8_0000_0001, 2), port: 1)),
            allow(NetAddress(host: .v6(0x2001_0db8_0000_0001, 3), port: 1)),
        ]
        #expect(second == [true, true, false])
        #expect(limiter.trackedSources == 3)
    }

}
