// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import NIOPosix
import Synchronization
import T2UCore
import T2UDevice
import T2UNIO
import Testing

@Suite(.serialized) struct PunchTests {
    /// After an introduction the device sends a few punches (0x10, the session ID, random
    /// bytes) to the client's candidates (and public address), opening its NAT toward the client.
    @Test func introductionPunchesTowardTheClientCandidates() async throws {
        let harness = try await DeviceHarness()
        let agent = try DeviceAgent(options: harness.deviceOptions(uuid: "cam-punch"))
        try await agent.start()
        #expect(await eventually { await agent.isRegistered() })

        let collector = RawCollector()
        let candidate = try await DatagramBootstrap(group: harness.group)
            .channelInitializer { $0.pipeline.addHandler(collector) }
            .bind(host: "127.0.0.1", port: 0).get()
        let candidateSocket = try #require(candidate.localAddress)
        let candidateAddress = try #require(NetAddress(candidateSocket))

        let client = try await harness.client(seed: 41)
        let cid = ConnectionID(rawValue: 0x0102_0304_0506_0708)
        let result = try await client.connectResult("cam-punch", connectionID: cid, candidates: [candidateAddress])
        #expect(result.online)
        #expect(
            await eventually(3) { collector.firstBytes.count >= 3 }, "expected 3 punches, got \(collector.firstBytes)")
        #expect(collector.firstBytes.allSatisfy { $0 == TraversalPunch.type })
        #expect(
            collector.sessionIDs.allSatisfy { $0 == result.sessionID }, "\(collector.sessionIDs) vs \(result.sessionID)"
        )

        try await candidate.close()
        await client.close()
        await agent.shutdown()
        try await harness.close()
    }
}

extension PunchTests {
    /// A punch of the session's client from a port the plan never punched (an auxiliary socket
    /// of a client behind a random NAT) is answered once with a punch back to it; a punch
    /// naming another session is not answered.
    @Test func aClientPunchIsAnsweredOnce() async throws {
        let harness = try await DeviceHarness()
        let agent = try DeviceAgent(options: harness.deviceOptions(uuid: "cam-answer"))
        try await agent.start()
        #expect(await eventually { await agent.isRegistered() })

        let collector = RawCollector()
        let auxiliary = try await DatagramBootstrap(group: harness.group)
            .channelInitializer { $0.pipeline.addHandler(collector) }
            .bind(host: "127.0.0.1", port: 0).get()
        let client = try await harness.client(seed: 42)
        let result = try await client.connectResult(
            "cam-answer", connectionID: ConnectionID(rawValue: 0x0A0B), candidates: [])
        let device = SocketAddress(try #require(result.deviceCandidates.first))
        func punch(session: UInt64) async throws {
            var datagram = ByteBufferAllocator().buffer(capacity: TraversalPunch.length)
            TraversalPunch.write(sessionID: session, entropy: SeededEntropy(seed: 1), into: &datagram)
            try await auxiliary.writeAndFlush(AddressedEnvelope(remoteAddress: device, data: datagram)).get()
        }
        try await punch(session: result.sessionID &+ 1)
        // Nothing may answer it: time for an answer to show if there were one.
        try await Task.sleep(nanoseconds: 300_000_000)
        #expect(collector.sessionIDs.isEmpty, "another session's punch answered: \(collector.sessionIDs)")
        for _ in 0..<3 { try await punch(session: result.sessionID) }
        #expect(await eventually(3) { collector.sessionIDs.count >= 1 })
        // Time for any further answer to show: exactly one may come.
        try await Task.sleep(nanoseconds: 300_000_000)
        #expect(collector.sessionIDs == [result.sessionID], "\(collector.sessionIDs)")

        try await auxiliary.close()
        await client.close()
        await agent.shutdown()
        try await harness.close()
    }
}

final class RawCollector: ChannelInboundHandler, Sendable {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    private let state = Mutex<(bytes: [UInt8], sessions: [UInt64])>(([], []))
    var firstBytes: [UInt8] { state.withLock { $0.bytes } }
    var sessionIDs: [UInt64] { state.withLock { $0.sessions } }
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        let punch = TraversalPunch.parse(envelope.data)
        if punch.isPunch, envelope.data.readableBytes == TraversalPunch.length, let session = punch.sessionID {
            state.withLock {
                $0.bytes.append(TraversalPunch.type)
                $0.sessions.append(session)
            }
        }
    }
}
