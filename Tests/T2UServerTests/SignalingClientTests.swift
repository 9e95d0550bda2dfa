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
}
