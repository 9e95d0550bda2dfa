// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Logging
import NIOCore
import NIOPosix
import T2UCore
import T2UNIO
import Testing

@testable import T2UServer

/// Collects datagrams received by a test socket.
final class DatagramInbox: ChannelInboundHandler {
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
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(DatagramInbox(continuation))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let address = try #require(channel.localAddress.flatMap(NetAddress.init))
        return LoopbackAgent(channel: channel, stream: stream, address: address)
    }

    /// The next datagram whose first byte is in `types` (others, e.g. retransmitted replies,
    /// are skipped), or nil after `seconds`.
    func next(_ types: ClosedRange<UInt8>, within seconds: Double = 2.5) async throws -> AddressedEnvelope<ByteBuffer>?
    {
        let timeout = wakeUp(after: seconds)
        defer { timeout.cancel() }
        for await envelope in stream {
            if envelope.data.readableBytes == 1,
                envelope.data.getInteger(at: envelope.data.readerIndex, as: UInt8.self) == 0xFF
            {
                return nil
            }
            if let first = envelope.data.getInteger(at: envelope.data.readerIndex, as: UInt8.self),
                types.contains(first)
            {
                return envelope
            }
        }
        return nil
    }

    /// Ends a wait on `stream` after `seconds`: sends ourselves the one-byte marker 0xFF.
    private func wakeUp(after seconds: Double) -> Task<Void, any Error> {
        let channel = self.channel
        return Task {
            // The timeout itself: the replies waited for come as datagrams, no sooner.
            try await Task.sleep(nanoseconds: UInt64(seconds * 1e9))
            try await channel.writeAndFlush(
                AddressedEnvelope(remoteAddress: channel.localAddress!, data: ByteBuffer(bytes: [0xFF])))
        }
    }

    func send(_ bytes: [UInt8], to destination: SocketAddress) async throws {
        try await channel.writeAndFlush(AddressedEnvelope(remoteAddress: destination, data: ByteBuffer(bytes: bytes)))
    }

    /// HELLO, then REGISTER (IK to `serverKey`); the token and our end of the channel.
    func register(
        role: SignalingRole, uuid: String, extra: [UInt8] = [], identity: StaticIdentity, serverKey: [UInt8],
        to server: SocketAddress
    ) async throws -> (token: UInt64, channel: SealedChannel)? {
        guard
            case .challenge(_, let cookie, let stated)? = try await request(
                .hello(requestID: 1, role: role), to: server),
            stated == serverKey
        else { return nil }
        let initiator = try SignalingRegistration.Initiator(
            requestID: 2, role: role, cookie: cookie, identity: identity, serverPublicKey: serverKey,
            payload: RegistrationPayload(uuid: uuid, extra: extra, candidates: []), entropy: SystemEntropy())
        guard
            case .registered(_, let ephemeral, let encrypted)? = try await request(
                .register(initiator.message), to: server)
        else { return nil }
        let (answer, channel) = try initiator.complete(ephemeral: ephemeral, encryptedPayload: encrypted)
        guard answer.observed == address else { return nil }
        return (answer.token, channel)
    }

    /// The next SEALED datagram in `sealedChannel`, opened (nil after `seconds`).
    func nextSealed(
        in sealedChannel: inout SealedChannel, within seconds: Double = 2.5
    ) async throws -> SignalingMessage? {
        let type = SignalingMessageType.sealed.rawValue
        while let envelope = try await next(type...type, within: seconds) {
            if case .sealed(let sealed)? = try? SignalingMessage.parse(envelope.data),
                let message = try? sealedChannel.open(sealed)
            {
                return message
            }
        }
        return nil
    }

    /// Sends `message` sealed in `sealedChannel` until a sealed reply with its request ID arrives.
    func request(
        _ message: SignalingMessage, in sealedChannel: inout SealedChannel, to server: SocketAddress
    )
        async throws -> SignalingMessage?
    {
        let sealed = SignalingMessage.sealed(sealedChannel.seal(message))
        var opening: SealedChannel? = sealedChannel
        let reply = try await request(sealed, to: server, matching: message.requestID, opening: &opening)
        sealedChannel = opening ?? sealedChannel
        return reply
    }

    /// Sends `message` (re-sending every 200 ms, up to 10 times) until a reply with its request ID arrives.
    func request(_ message: SignalingMessage, to server: SocketAddress) async throws -> SignalingMessage? {
        var none: SealedChannel?
        return try await request(message, to: server, matching: message.requestID, opening: &none)
    }

    private func request(
        _ message: SignalingMessage, to server: SocketAddress, matching requestID: UInt32,
        opening sealedChannel: inout SealedChannel?
    ) async throws -> SignalingMessage? {
        var buffer = channel.allocator.buffer(capacity: 128)
        message.write(into: &buffer)
        let datagram = buffer
        let sender = Task {
            for _ in 0..<10 {
                try await channel.writeAndFlush(AddressedEnvelope(remoteAddress: server, data: datagram))
                // Retransmission, as a real agent does: UDP may lose the request.
                try await Task.sleep(nanoseconds: 200_000_000)
            }
        }
        defer { sender.cancel() }
        let timeout = wakeUp(after: 2.5)
        defer { timeout.cancel() }
        for await envelope in stream {
            if envelope.data.readableBytes == 1,
                envelope.data.getInteger(at: envelope.data.readerIndex, as: UInt8.self) == 0xFF
            {
                return nil  // our own timeout marker
            }
            guard var reply = try? SignalingMessage.parse(envelope.data) else { continue }
            if case .sealed(let sealed) = reply {
                guard let opened = try? sealedChannel?.open(sealed) else { continue }
                reply = opened
            }
            if reply.requestID == requestID { return reply }
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
        let config = ServerConfig()
        let serverKey = config.identity.publicKey
        let runner = ServerRunner(config: config, options: options, logger: Logger(label: "test"), group: group)
        let (main, observation) = try await runner.start()
        #expect(main.port != nil && main.port != 0)
        #expect(observation.port != main.port)

        let device = try await LoopbackAgent.make(group: group)
        let client = try await LoopbackAgent.make(group: group)

        let deviceIdentity = StaticIdentity.generate(SystemEntropy())
        var (_, deviceChannel) = try #require(
            try await device.register(
                role: .device, uuid: "LOOP-1", extra: Array("hello".utf8), identity: deviceIdentity,
                serverKey: serverKey, to: main))
        var (clientToken, clientChannel) = try #require(
            try await client.register(
                role: .client, uuid: "client", identity: StaticIdentity.generate(SystemEntropy()), serverKey: serverKey,
                to: main))

        let reply = try await client.request(
            .query(requestID: 3, token: clientToken, uuid: "LOOP-1"), in: &clientChannel, to: main)
        #expect(
            reply
                == .queryResult(
                    .init(
                        requestID: 3, online: true, publicAddress: device.address,
                        publicKey: deviceIdentity.publicKey, extra: Array("hello".utf8))))

        // The second port reports the address it sees.
        let probe = try await client.request(.probe(requestID: 4), to: observation)
        #expect(probe == .probeResult(requestID: 4, observed: client.address))

        // CONNECT: the device is introduced, then transport packets are relayed both ways.
        let connect = try await client.request(
            .connect(
                .init(
                    requestID: 5, token: clientToken, uuid: "LOOP-1",
                    clientConnectionID: ConnectionID(rawValue: 0xC1), candidates: [])),
            in: &clientChannel, to: main)
        guard case .connectResult(let result)? = connect else {
            Issue.record("no connect result: \(String(describing: connect))")
            return
        }
        #expect(result.online)
        guard case .introduce(let intro)? = try await device.nextSealed(in: &deviceChannel) else {
            Issue.record("device was not introduced")
            return
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
