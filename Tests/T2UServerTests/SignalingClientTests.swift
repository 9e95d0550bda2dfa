import NIOCore
import T2UCore
import Testing

@Suite struct SignalingClientTests {
    static let server = NetAddress(ipv4: (192, 0, 2, 1), port: 7000)

    /// Times at which the client sent something, with nobody answering, over `span`.
    static func sendTimes(_ client: SignalingClient, span: Nanos) -> [(Instant, SignalingMessage)] {
        var sent: [(Instant, SignalingMessage)] = []
        var now = Instant.zero
        while now < Instant.zero + span {
            var buffer = ByteBuffer()
            while client.pollTransmit(now: now, into: &buffer) != nil {
                if let message = try? SignalingMessage.parse(buffer) { sent.append((now, message)) }
                buffer.clear()
            }
            guard let deadline = client.nextDeadline() else { break }
            now = max(now, deadline)
            client.handleTimeout(now: now)
        }
        return sent
    }

    @Test func helloBacksOffExponentiallyUpToTheCap() throws {
        let client = try SignalingClient(config: SignalingClientConfig(role: .client, uuid: "c", server: Self.server),
                                         entropy: SeededEntropy(seed: 1), now: .zero)
        let sent = Self.sendTimes(client, span: .seconds(30))
        let times = sent.map { $0.0.nanoseconds / 1_000_000 }
        #expect(times == [0, 500, 1500, 3500, 7500, 15500, 23500])
        #expect(sent.allSatisfy { if case .hello(_, .client) = $0.1 { true } else { false } })
        #expect(client.status == .connecting)
    }

    @Test func rejectsConfigurationOutsideTheWireBounds() {
        #expect(throws: SignalingClientConfig.Invalid.uuidLength) {
            try SignalingClient(config: SignalingClientConfig(role: .device, uuid: "", server: Self.server),
                                entropy: SeededEntropy(seed: 1), now: .zero)
        }
        #expect(throws: SignalingClientConfig.Invalid.extraTooLong) {
            try SignalingClient(config: SignalingClientConfig(role: .device, uuid: "d", extra: [UInt8](repeating: 0, count: 513),
                                                              server: Self.server), entropy: SeededEntropy(seed: 1), now: .zero)
        }
    }

    @Test func ignoresDatagramsFromOtherAddressesAndGarbage() throws {
        let client = try SignalingClient(config: SignalingClientConfig(role: .device, uuid: "d", server: Self.server),
                                         entropy: SeededEntropy(seed: 1), now: .zero)
        var buffer = ByteBuffer()
        SignalingMessage.challenge(requestID: 1, cookie: [UInt8](repeating: 0, count: 20), keyRequired: false).write(into: &buffer)
        client.receive(buffer, from: NetAddress(ipv4: (6, 6, 6, 6), port: 7000), now: .zero)
        client.receive(ByteBuffer(bytes: [0x21, 1]), from: Self.server, now: .zero)
        #expect(client.ignoredDatagrams == 2)
        #expect(client.pollEvent() == nil)
    }

    /// A restarted server answers a relayed packet with RELAY_UNKNOWN: the agent reports it
    /// and checks its registration at once (keepalive now, not at the next interval); the
    /// server no longer knowing the token sends it back to HELLO right away.
    @Test func relayUnknownReportsAndChecksTheRegistrationAtOnce() throws {
        let client = try SignalingClient(config: SignalingClientConfig(role: .device, uuid: "d", server: Self.server),
                                         entropy: SeededEntropy(seed: 3), now: .zero)
        func send(_ message: SignalingMessage, at now: Instant, from: NetAddress = Self.server) {
            var buffer = ByteBuffer()
            message.write(into: &buffer)
            client.receive(buffer, from: from, now: now)
        }
        func next(_ now: Instant) -> SignalingMessage? {
            var buffer = ByteBuffer()
            guard client.pollTransmit(now: now, into: &buffer) != nil else { return nil }
            return try? SignalingMessage.parse(buffer)
        }
        guard case .hello(let helloID, _)? = next(.zero) else { Issue.record("no hello"); return }
        send(.challenge(requestID: helloID, cookie: [UInt8](repeating: 1, count: 20), keyRequired: false), at: .zero)
        guard case .register(let register)? = next(.zero) else { Issue.record("no register"); return }
        send(.registered(requestID: register.requestID, observed: NetAddress(ipv4: (203, 0, 113, 9), port: 1), keepaliveSeconds: 20,
                         token: 77), at: .zero)
        #expect(client.status == .registered)
        while client.pollEvent() != nil {}
        let later = Instant.zero + .seconds(2)
        #expect(next(later) == nil, "no keepalive due yet")

        // From someone else than the server: ignored.
        let ignoredBefore = client.ignoredDatagrams
        send(.relayUnknown(requestID: 0, connectionID: ConnectionID(rawValue: 5)), at: later, from: NetAddress(ipv4: (6, 6, 6, 6), port: 7000))
        #expect(client.ignoredDatagrams == ignoredBefore + 1)
        #expect(next(later) == nil)

        send(.relayUnknown(requestID: 0, connectionID: ConnectionID(rawValue: 5)), at: later)
        #expect(client.pollEvent() == .relayUnknown(ConnectionID(rawValue: 5)))
        guard case .keepalive(let keepaliveID, 77, _)? = next(later) else { Issue.record("no immediate keepalive"); return }
        // A burst of RELAY_UNKNOWNs does not multiply keepalives.
        send(.relayUnknown(requestID: 0, connectionID: ConnectionID(rawValue: 5)), at: later)
        #expect(next(later) == nil)
        send(.error(requestID: keepaliveID, code: .unknownSession), at: later)
        guard case .hello? = next(later) else { Issue.record("no new registration"); return }
    }
}
