import NIOCore
import T2UCore
import Testing

@testable import T2UServer

@Suite struct ServerCoreRegistrationTests {
    @Test func registersWithoutKey() throws {
        let h = ServerHarness()
        guard case .challenge(1, let cookie, let keyRequired)? = h.request(.hello(requestID: 1, role: .device), from: Addr.device)
        else { Issue.record("no challenge"); return }
        #expect(!keyRequired)
        #expect(cookie.count == SignalingLimits.cookieLength)
        let reply = h.register(.device, uuid: "CAM-1", from: Addr.device)
        guard case .registered(2, let observed, let keepalive, let token)? = reply else {
            Issue.record("not registered: \(String(describing: reply))"); return
        }
        #expect(observed == Addr.device)
        #expect(keepalive == 20)
        #expect(h.core.registry.lookup(token: token)?.uuid == "CAM-1")
        #expect(h.core.counters.registrations == 1)
    }

    @Test func keyedServerAcceptsTheRightProofOnly() {
        var config = ServerConfig()
        config.serverKey = "s3cret-server-key"
        let h = ServerHarness(config: config)
        guard case .challenge(_, _, true)? = h.request(.hello(requestID: 1, role: .client), from: Addr.client) else {
            Issue.record("challenge must say a key is required"); return
        }
        #expect(h.token(.device, uuid: "CAM-1", from: Addr.device, key: "s3cret-server-key") != nil)

        // No proof, and a proof made with a wrong key: both refused with serverKeyRejected.
        for key in [nil, "wrong-key"] as [String?] {
            guard let cookie = h.cookie(for: Addr.client) else { Issue.record("no cookie"); return }
            let proof = key.map { SignalingProof.make(serverKey: $0, cookie: cookie, role: .client, uuid: "me", publicKey: ServerSamples.key) }
            let out = h.send(.register(.init(requestID: 9, role: .client, uuid: "me", publicKey: ServerSamples.key, extra: [],
                                             candidates: [], cookie: cookie, proof: proof)), from: Addr.client)
            #expect(out.count == 1)
            #expect(out.first?.message == .error(requestID: 9, code: .serverKeyRejected))
            // The reply leaks nothing about the key.
            let keyBytes = Array("s3cret-server-key".utf8)
            #expect(out.first.map { !containsSubsequence($0.bytes, keyBytes) } ?? false)
        }
        #expect(h.core.registry.lookup(role: .client, uuid: "me") == nil)
        #expect(h.core.counters[.serverKeyRejected] == 2)
    }

    @Test func cookieIsBoundToAddressAndTime() {
        let h = ServerHarness()
        guard let cookie = h.cookie(for: Addr.device) else { Issue.record("no cookie"); return }
        let register = SignalingMessage.register(.init(requestID: 3, role: .device, uuid: "CAM-1", publicKey: ServerSamples.key,
                                                      extra: [], candidates: [], cookie: cookie, proof: nil))
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
        guard case .queryResult(let online)? = h.request(.query(requestID: 5, token: clientToken, uuid: "CAM-1"), from: Addr.client)
        else { Issue.record("no query result"); return }
        #expect(online.online)

        // The client keeps alive, the device falls silent.
        for _ in 0..<4 {
            h.advance(by: .seconds(20))
            #expect(h.request(.keepalive(requestID: 6, token: clientToken), from: Addr.client)
                == .keepaliveAck(requestID: 6, observed: Addr.client))
        }
        guard case .queryResult(let offline)? = h.request(.query(requestID: 7, token: clientToken, uuid: "CAM-1"), from: Addr.client)
        else { Issue.record("no query result"); return }
        #expect(!offline.online)
        #expect(offline.publicAddress == nil)
        #expect(h.core.counters.expirations == 1)
        // The device's old token is gone: its keepalive is told to register again.
        #expect(h.request(.keepalive(requestID: 8, token: deviceToken), from: Addr.device)
            == .error(requestID: 8, code: .unknownSession))
    }

    @Test func queryReturnsExtraPublicAddressAndKey() throws {
        let h = ServerHarness()
        let extra = Array("model=NVR-8;fw=2.1".utf8)
        _ = try #require(h.token(.device, uuid: "CAM-1", from: Addr.device, extra: extra, candidates: [Addr.deviceLAN]))
        let clientToken = try #require(h.token(.client, uuid: "client-1", from: Addr.client))
        let reply = h.request(.query(requestID: 5, token: clientToken, uuid: "CAM-1"), from: Addr.client)
        #expect(reply == .queryResult(.init(requestID: 5, online: true, publicAddress: Addr.device,
                                            publicKey: [UInt8](repeating: 0xD0, count: 32), extra: extra)))
        let unknown = h.request(.query(requestID: 6, token: clientToken, uuid: "nope"), from: Addr.client)
        #expect(unknown == .queryResult(.init(requestID: 6, online: false, publicAddress: nil, publicKey: [], extra: [])))
        // A token used from another address is not accepted (and the answer is tiny).
        let stolen = h.send(.query(requestID: 7, token: clientToken, uuid: "CAM-1"), from: Addr.stranger)
        #expect(stolen.map(\.message) == [.error(requestID: 7, code: .unknownSession)])
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

    static func connect(_ h: ServerHarness, clientToken: UInt64) -> (SignalingMessage.ConnectResult?, SignalingMessage.Introduce?) {
        let out = h.send(.connect(.init(requestID: 10, token: clientToken, uuid: "CAM-1",
                                        clientConnectionID: ConnectionID(rawValue: clientCID),
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
        #expect(r.devicePublicKey == [UInt8](repeating: 0xD0, count: 32))
        #expect(r.deviceCandidates == [Addr.device, Addr.deviceLAN])
        #expect(i.sessionID == r.sessionID)
        #expect(i.clientConnectionID.rawValue == Self.clientCID)
        #expect(i.clientPublicAddress == Addr.client)
        #expect(i.clientCandidates == [NetAddress(ipv4: (10, 0, 0, 2), port: 5555)])

        // INTRODUCE is retransmitted until acknowledged, then stops.
        let resent = h.advance(by: .seconds(1)).filter { $0.transmit.destination == Addr.device }
        #expect(resent.count >= 1)
        #expect(resent.allSatisfy { $0.message == .introduce(i) })
        #expect(h.send(.introduceAck(requestID: i.requestID, token: deviceToken, sessionID: i.sessionID), from: Addr.device).isEmpty)
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
        #expect(h.core.counters.relayedBytes == UInt64(initiation.count + response.count + toDevice.count + toClient.count))

        // A stranger using a live CID, a party sending to itself, and an unknown CID: dropped.
        #expect(h.sendRaw(TransportBytes.data(destinationCID: Self.deviceCID), from: Addr.stranger).isEmpty)
        #expect(h.sendRaw(TransportBytes.data(destinationCID: Self.clientCID), from: Addr.client).isEmpty)
        #expect(h.sendRaw(TransportBytes.initiation(initiatorCID: Self.clientCID), from: Addr.stranger).isEmpty)
        #expect(h.sendRaw(TransportBytes.response(initiatorCID: Self.clientCID, responderCID: 5), from: Addr.client).isEmpty)
        #expect(h.core.counters[.relayStranger] == 4)
        // An unknown CID: not forwarded; the sender is told (RELAY_UNKNOWN, see RelayResumeTests).
        #expect(h.sendRaw(TransportBytes.data(destinationCID: 0x1234), from: Addr.client).map(\.message)
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
        #expect(h.request(.keepalive(requestID: 3, token: deviceToken), from: moved) == .keepaliveAck(requestID: 3, observed: moved))
        let initiation = TransportBytes.initiation(initiatorCID: Self.clientCID)
        #expect(h.sendRaw(initiation, from: Addr.client).first?.transmit.destination == moved)
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
            forwarded += h.sendRaw(TransportBytes.initiation(initiatorCID: Self.clientCID, payload: 991), from: Addr.client).count
        }
        #expect(forwarded == 10)
        #expect(h.core.counters[.relayRateLimited] == 10)
        h.advance(by: .milliseconds(500))
        #expect(h.sendRaw(TransportBytes.initiation(initiatorCID: Self.clientCID, payload: 991), from: Addr.client).count == 1)
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
            let source = NetAddress(ipv4: (100, 64, UInt8(iteration >> 8 & 0xff), UInt8(iteration & 0xff)),
                                    port: UInt16(truncatingIfNeeded: entropy.nextUInt64()) | 1)
            let base = corpus[Int(entropy.next(below: UInt64(corpus.count)))]
            let input = entropy.next(below: 2) == 0 ? base : ServerSamples.mutate(base, entropy)
            for socket in [ServerSocket.main, .observation] {
                for output in h.sendRaw(input, from: source, on: socket) where output.transmit.destination == source {
                    #expect(output.bytes.count <= input.count, "seed 7 iteration \(iteration): \(input) -> \(output.bytes)")
                }
            }
        }
        // Unpadded HELLO gets nothing.
        #expect(h.sendRaw(Array(ServerSamples.bytes(.hello(requestID: 1, role: .device)).prefix(6)), from: Addr.stranger).isEmpty)
        #expect(h.core.counters[.unpadded] >= 1)
    }

    @Test func garbageIsCountedNotAnswered() {
        let h = ServerHarness()
        let entropy = SeededEntropy(seed: 11)
        for _ in 0..<2_000 {
            let port = UInt16(entropy.next(below: 60_000) + 1)
            #expect(h.sendRaw(entropy.bytes(Int(entropy.next(below: 100))), from: NetAddress(ipv4: (100, 64, 0, 1), port: port))
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
    @Test func boundedTableRefusesNewSourcesUntilIdleOnesCanBePruned() {
        var limiter = SourceRateLimiter(rate: 1, burst: 2, capacity: 3)
        let now = Instant(nanoseconds: 0)
        let sources = (0..<5).map { NetAddress(ipv4: (10, 0, 0, UInt8($0)), port: 1) }
        for source in sources.prefix(3) {
            let allowed = limiter.allow(source, now: now)
            #expect(allowed)
        }
        let refused = !limiter.allow(sources[3], now: now)  // table full, nobody idle
        #expect(refused)
        #expect(limiter.trackedSources == 3)
        // After the buckets refill, the idle sources are forgotten and a new one fits.
        let admitted = limiter.allow(sources[4], now: now + .seconds(3))
        #expect(admitted)
        #expect(limiter.trackedSources == 1)
    }
}
