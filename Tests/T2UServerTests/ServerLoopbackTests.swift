import Logging
import NIOCore
import NIOPosix
import T2UCore
import T2UNIO
import Testing

@testable import T2UServer

/// Collects datagrams received by a test socket.
final class DatagramInbox: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    let continuation: AsyncStream<AddressedEnvelope<ByteBuffer>>.Continuation

    init(_ continuation: AsyncStream<AddressedEnvelope<ByteBuffer>>.Continuation) { self.continuation = continuation }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        continuation.yield(unwrapInboundIn(data))
    }
}

/// A UDP socket on 127.0.0.1 that sends signaling requests and waits for the matching reply.
struct LoopbackAgent {
    let channel: Channel
    let stream: AsyncStream<AddressedEnvelope<ByteBuffer>>
    let address: NetAddress

    static func make(group: EventLoopGroup) async throws -> LoopbackAgent {
        let (stream, continuation) = AsyncStream<AddressedEnvelope<ByteBuffer>>.makeStream()
        let channel = try await DatagramBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(DatagramInbox(continuation)) }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let address = try #require(channel.localAddress.flatMap(NetAddress.init))
        return LoopbackAgent(channel: channel, stream: stream, address: address)
    }

    /// The next datagram whose first byte is in `types` (others, e.g. retransmitted replies,
    /// are skipped), or nil after `seconds`.
    func next(_ types: ClosedRange<UInt8>, within seconds: Double = 2.5) async throws -> AddressedEnvelope<ByteBuffer>? {
        let timeout = Task {
            try await Task.sleep(nanoseconds: UInt64(seconds * 1e9))
            try await channel.writeAndFlush(AddressedEnvelope(remoteAddress: channel.localAddress!, data: ByteBuffer(bytes: [0xFF])))
        }
        defer { timeout.cancel() }
        for await envelope in stream {
            if envelope.data.readableBytes == 1, envelope.data.getInteger(at: envelope.data.readerIndex, as: UInt8.self) == 0xFF {
                return nil
            }
            if let first = envelope.data.getInteger(at: envelope.data.readerIndex, as: UInt8.self), types.contains(first) {
                return envelope
            }
        }
        return nil
    }

    func send(_ bytes: [UInt8], to destination: SocketAddress) async throws {
        try await channel.writeAndFlush(AddressedEnvelope(remoteAddress: destination, data: ByteBuffer(bytes: bytes)))
    }

    /// Sends `message` (re-sending every 200 ms, up to 10 times) until a reply with its request ID arrives.
    func request(_ message: SignalingMessage, to server: SocketAddress) async throws -> SignalingMessage? {
        var buffer = channel.allocator.buffer(capacity: 128)
        message.write(into: &buffer)
        let datagram = buffer
        let sender = Task {
            for _ in 0..<10 {
                try await channel.writeAndFlush(AddressedEnvelope(remoteAddress: server, data: datagram))
                try await Task.sleep(nanoseconds: 200_000_000)
            }
        }
        defer { sender.cancel() }
        let timeout = Task {
            try await Task.sleep(nanoseconds: 2_500_000_000)
            try await channel.writeAndFlush(AddressedEnvelope(remoteAddress: channel.localAddress!, data: ByteBuffer(bytes: [0xFF])))
        }
        defer { timeout.cancel() }
        for await envelope in stream {
            if envelope.data.readableBytes == 1, envelope.data.getInteger(at: envelope.data.readerIndex, as: UInt8.self) == 0xFF {
                return nil  // our own timeout marker
            }
            if let reply = try? SignalingMessage.parse(envelope.data), reply.requestID == message.requestID { return reply }
        }
        return nil
    }
}

@Suite(.serialized) struct ServerLoopbackTests {
    @Test func realServerRegistersQueriesIntroducesAndRelaysOverUDP() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        var options = ServerRunner.Options()
        options.bindHost = "127.0.0.1"
        options.port = 0
        var config = ServerConfig()
        config.serverKey = "loopback-key"
        let runner = ServerRunner(config: config, options: options, logger: Logger(label: "test"), group: group)
        let (main, observation) = try await runner.start()
        #expect(main.port != nil && main.port != 0)
        #expect(observation.port != main.port)

        let device = try await LoopbackAgent.make(group: group)
        let client = try await LoopbackAgent.make(group: group)

        func register(_ agent: LoopbackAgent, role: SignalingRole, uuid: String, extra: [UInt8]) async throws -> UInt64? {
            guard case .challenge(_, let cookie, true)? = try await agent.request(.hello(requestID: 1, role: role), to: main) else {
                return nil
            }
            let key = [UInt8](repeating: 0x42, count: 32)
            let proof = SignalingProof.make(serverKey: "loopback-key", cookie: cookie, role: role, uuid: uuid, publicKey: key)
            let reply = try await agent.request(.register(.init(requestID: 2, role: role, uuid: uuid, publicKey: key, extra: extra,
                                                                candidates: [], cookie: cookie, proof: proof)), to: main)
            guard case .registered(_, let observed, _, let token)? = reply, observed == agent.address else { return nil }
            return token
        }

        let deviceToken = try await register(device, role: .device, uuid: "LOOP-1", extra: Array("hello".utf8))
        #expect(deviceToken != nil)
        let clientToken = try #require(try await register(client, role: .client, uuid: "client", extra: []))

        let reply = try await client.request(.query(requestID: 3, token: clientToken, uuid: "LOOP-1"), to: main)
        #expect(reply == .queryResult(.init(requestID: 3, online: true, publicAddress: device.address,
                                            publicKey: [UInt8](repeating: 0x42, count: 32), extra: Array("hello".utf8))))

        // The second port reports the address it sees.
        let probe = try await client.request(.probe(requestID: 4), to: observation)
        #expect(probe == .probeResult(requestID: 4, observed: client.address))

        // CONNECT: the device is introduced, then transport packets are relayed both ways.
        let connect = try await client.request(.connect(.init(requestID: 5, token: clientToken, uuid: "LOOP-1",
                                                              clientConnectionID: ConnectionID(rawValue: 0xC1), candidates: [])),
                                               to: main)
        guard case .connectResult(let result)? = connect else { Issue.record("no connect result: \(String(describing: connect))"); return }
        #expect(result.online)
        let introduce = try await device.next(SignalingMessageType.introduce.rawValue...SignalingMessageType.introduce.rawValue)
        guard case .introduce(let intro)? = introduce.flatMap({ try? SignalingMessage.parse($0.data) }) else {
            Issue.record("device was not introduced"); return
        }
        #expect(intro.sessionID == result.sessionID)
        #expect(intro.clientPublicAddress == client.address)

        let initiation = TransportBytes.initiation(initiatorCID: 0xC1, payload: 150)
        try await client.send(initiation, to: main)
        let relayedInitiation = try await device.next(0x01...0x05)
        #expect(relayedInitiation.map { Array($0.data.readableBytesView) } == initiation)
        #expect(relayedInitiation?.remoteAddress == main)
        let response = TransportBytes.response(initiatorCID: 0xC1, responderCID: 0xDE)
        try await device.send(response, to: main)
        #expect(try await client.next(0x01...0x05).map { Array($0.data.readableBytesView) } == response)
        let data = TransportBytes.data(destinationCID: 0xDE, payload: 1300)
        try await client.send(data, to: main)
        #expect(try await device.next(0x01...0x05).map { Array($0.data.readableBytesView) } == data)

        let counters = try await runner.counters()
        #expect(counters.registrations == 2)
        #expect(counters.relayedPackets == 3)

        try await device.channel.close()
        try await client.channel.close()
        try await runner.shutdown()
        try await group.shutdownGracefully()
    }
}

extension ServerLoopbackTests {
    @Test func startFailsCleanlyWhenAPortIsTaken() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let squatter = try await LoopbackAgent.make(group: group)
        var options = ServerRunner.Options()
        options.bindHost = "127.0.0.1"
        options.port = 0
        options.observationPort = Int(squatter.address.port)
        let runner = ServerRunner(config: ServerConfig(), options: options, logger: Logger(label: "test"), group: group)
        await #expect(throws: (any Error).self) { try await runner.start() }
        try await squatter.channel.close()
        try await group.shutdownGracefully()
    }
}
