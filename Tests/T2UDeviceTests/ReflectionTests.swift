// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Foundation
import NIOCore
import NIOPosix
import Synchronization
import T2UDevice
import T2UNIO
import Testing

@testable import T2UCore

/// The device and client agents are not reflectors (docs/SECURITY.md §4): every datagram an
/// unauthenticated sender can make them act on gets back at most as many bytes as it cost, and
/// a CONNECT cannot aim the device's punches at addresses of its choosing. Loopback only.
@Suite(.serialized) struct ReflectionTests {
    static let loopbackHost = LocalSubnet(host: NetAddress(ipv4: (127, 0, 0, 1), port: 0).host, prefixLength: 32)
    static let loopback = LocalSubnet(host: NetAddress(ipv4: (127, 0, 0, 1), port: 0).host, prefixLength: 8)

    /// A device whose only subnet is 127.0.0.1/32: 127.0.0.2...9 stand for foreign victims.
    /// The control device (the real interfaces: 127.0.0.0/8 is its LAN) punches them, so the
    /// listeners do see punches when they are sent.
    @Test func connectNamingForeignCandidatesMakesTheDevicePunchOnlyTheClient() async throws {
        let harness = try await DeviceHarness()
        var options = harness.deviceOptions(uuid: "cam-r")
        options.localSubnets = [Self.loopbackHost]
        let agent = try DeviceAgent(options: options)
        try await agent.start()
        var controlOptions = harness.deviceOptions(uuid: "cam-c")
        controlOptions.localSubnets = [Self.loopback]
        let control = try DeviceAgent(options: controlOptions)
        try await control.start()
        #expect(
            await eventually {
                let first = await agent.isRegistered()
                let second = await control.isRegistered()
                return first && second
            })

        var victims: [(Channel, ByteCounter)] = []
        for last in UInt8(2)...9 {
            let counter = ByteCounter()
            let channel = try await DatagramBootstrap(group: harness.group)
                .channelInitializer { $0.pipeline.addHandler(counter) }
                .bind(host: "127.0.0.\(last)", port: 0).get()
            victims.append((channel, counter))
        }
        let candidates = victims.map { NetAddress($0.0.localAddress!)! }

        let client = try await harness.client(seed: 77)
        let punched = ByteCounter()
        try await client.state.submit {
            $0.driver.onPunch = { datagram, _, _ in punched.add(datagram.readableBytes) }
        }.get()
        let result = try await client.connectResult(
            "cam-r", connectionID: ConnectionID(rawValue: 0x77), candidates: candidates)
        #expect(result.online)
        // A real timer: the candidate rounds end at 2 s.
        try await Task.sleep(nanoseconds: 2_600_000_000)

        var connect = ByteBuffer()
        SignalingMessage.connect(
            .init(
                requestID: 1, token: 1, uuid: "cam-r", clientConnectionID: ConnectionID(rawValue: 0x77),
                candidates: candidates)
        ).write(into: &connect)
        let toVictims = victims.map { $0.1.bytes }
        let toClient = punched.bytes
        print(
            "device reflection (loopback): CONNECT \(connect.readableBytes) B naming 8 foreign candidates -> \(toVictims) B to them, \(toClient) B of punches to the client (factor \(String(format: "%.2f", Double(toClient) / Double(connect.readableBytes))))"
        )
        #expect(toVictims.allSatisfy { $0 == 0 }, "\(toVictims)")
        #expect(toClient > 0 && toClient <= TraversalConfig().punchRounds.count * TraversalPunch.length)
        #expect(Double(toClient) / Double(connect.readableBytes) <= 1)
        #expect(await agent.punchCounters()?.candidatesDropped == 8)

        // Control: the same CONNECT to a device whose LAN is 127/8 does punch the candidates.
        _ = try await client.connectResult("cam-c", connectionID: ConnectionID(rawValue: 0x78), candidates: candidates)
        #expect(
            await eventually(3) { victims.allSatisfy { $0.1.bytes > 0 } },
            "the listeners must see punches when they are sent")

        for (channel, _) in victims { try await channel.close() }
        await client.close()
        await agent.shutdown()
        await control.shutdown()
        try await harness.close()
    }

    /// Every unauthenticated datagram the device's agent socket, its discovery port and a client
    /// agent's socket accept, and junk of every first byte: bytes back / bytes sent, as a table.
    @Test func reflectionTable() async throws {
        let harness = try await DeviceHarness()
        var options = harness.deviceOptions(uuid: "cam-table")
        options.discoveryAddress = "239.255.75.50"
        options.discoveryPort = try await harness.freeUDPPort()
        options.udpPort = try await harness.freeUDPPort()
        options.localSubnets = [Self.loopback]
        let agent = try DeviceAgent(options: options)
        try await agent.start()
        #expect(await eventually { await agent.isRegistered() })
        let client = try await harness.client(seed: 78)
        let device = NetAddress(ipv4: (127, 0, 0, 1), port: options.udpPort)
        let discovery = NetAddress(ipv4: (127, 0, 0, 1), port: options.discoveryPort)
        let clientAgent = try await client.poll("observed address") { $0.signaling.observedAddress }

        let entropy = SeededEntropy(seed: 99)
        func message(_ m: SignalingMessage) -> [UInt8] {
            var buffer = ByteBuffer()
            m.write(into: &buffer)
            return Array(buffer.readableBytesView)
        }
        func typed(_ type: UInt8, _ length: Int) -> [UInt8] { [type] + entropy.bytes(length - 1) }

        let attacker = try await Sender(group: harness.group)
        let me = attacker.address
        var cases: [(String, NetAddress, [UInt8])] = [
            ("SEARCH (all devices)", discovery, message(.search(requestID: 1, uuid: nil))),
            ("SEARCH (our UUID)", discovery, message(.search(requestID: 2, uuid: "cam-table"))),
            ("SEARCH unpadded", discovery, [0x2F, 0, 0, 0, 3, 0]),
            ("SEARCH_REPLY forged", discovery, message(.searchReply(requestID: 1, uuid: "x", address: me))),
            (
                "handshake initiation junk", device,
                typed(PacketType.handshakeInitiation.rawValue, HandshakeLayout.initiationLength)
            ),
            (
                "handshake response junk", device,
                typed(PacketType.handshakeResponse.rawValue, HandshakeLayout.responseMinLength)
            ),
            (
                "handshake rejection junk", device,
                typed(PacketType.handshakeRejection.rawValue, HandshakeLayout.rejectionLength)
            ),
            ("stray transport packet (phase 0)", device, typed(PacketType.dataKeyPhase0.rawValue, 80)),
            ("stray transport packet (phase 1)", device, typed(PacketType.dataKeyPhase1.rawValue, 1200)),
            ("punch (0x10)", device, typed(TraversalPunch.type, TraversalPunch.length)),
            (
                "INTRODUCE, not from the server", device,
                message(
                    .introduce(
                        .init(
                            requestID: 5, sessionID: 6, clientConnectionID: ConnectionID(rawValue: 7),
                            clientPublicAddress: me,
                            clientCandidates: [me], relayAllowed: true)))
            ),
            ("PROBE", device, message(.probe(requestID: 8))),
            ("HELLO", device, message(.hello(requestID: 9, role: .client))),
            ("KEEPALIVE", device, message(.keepalive(requestID: 10, token: 11))),
            (
                "RELAY_UNKNOWN, not from the server", device,
                message(.relayUnknown(requestID: 0, connectionID: ConnectionID(rawValue: 12)))
            ),
            (
                "client: handshake initiation junk", clientAgent,
                typed(PacketType.handshakeInitiation.rawValue, HandshakeLayout.initiationLength)
            ),
            ("client: stray transport packet", clientAgent, typed(PacketType.dataKeyPhase0.rawValue, 80)),
            ("client: punch (0x10)", clientAgent, typed(TraversalPunch.type, TraversalPunch.length)),
            (
                "client: INTRODUCE, not from the server", clientAgent,
                message(
                    .introduce(
                        .init(
                            requestID: 5, sessionID: 6, clientConnectionID: ConnectionID(rawValue: 7),
                            clientPublicAddress: me,
                            clientCandidates: [me], relayAllowed: true)))
            ),
        ]
        for first in 0...255 {  // junk of every first byte, 100 bytes each
            cases.append(("junk 0x\(String(first, radix: 16)) -> device", device, typed(UInt8(first), 100)))
            cases.append(("junk 0x\(String(first, radix: 16)) -> discovery", discovery, typed(UInt8(first), 100)))
            cases.append(("junk 0x\(String(first, radix: 16)) -> client", clientAgent, typed(UInt8(first), 100)))
        }

        var rows: [String] = []
        var worst = 0.0
        var answeredSearch = false
        for (name, target, datagram) in cases {
            let before = attacker.counter.bytes
            // Each case three times (the INTRODUCE would be retransmitted by a real server).
            for _ in 0..<3 { try await attacker.send(datagram, to: target) }
            let settle: UInt64 =
                name.hasPrefix("junk") ? 20_000_000 : name.hasPrefix("INTRODUCE") ? 700_000_000 : 200_000_000
            // Counted after a while: the reflections measured are datagrams that must not come.
            try await Task.sleep(nanoseconds: settle)
            let back = attacker.counter.bytes - before
            let factor = Double(back) / Double(3 * datagram.count)
            worst = max(worst, factor)
            if name.hasPrefix("SEARCH (") { answeredSearch = answeredSearch || back > 0 }
            if !name.hasPrefix("junk") || back > 0 {
                rows.append(
                    "  \(name.padding(toLength: 40, withPad: " ", startingAt: 0)) in \(String(3 * datagram.count).padding(toLength: 6, withPad: " ", startingAt: 0)) out \(String(back).padding(toLength: 6, withPad: " ", startingAt: 0)) factor \(String(format: "%.2f", factor))"
                )
            }
            #expect(factor <= 1, "\(name): \(back) B back for \(3 * datagram.count) B")
        }
        print(
            "reflection table (each datagram sent 3x; junk rows shown only when answered; 768 junk cases of every first byte):\n"
                + rows.joined(separator: "\n") + "\n  worst factor \(String(format: "%.2f", worst))")
        #expect(
            answeredSearch,
            "the discovery port must answer a padded SEARCH from its LAN (else the table proves nothing)")

        try await attacker.close()
        await client.close()
        await agent.shutdown()
        try await harness.close()
    }
}

/// Counts bytes of every datagram a channel receives.
final class ByteCounter: ChannelInboundHandler, Sendable {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    private let total = Mutex(0)
    var bytes: Int { total.withLock { $0 } }
    func add(_ count: Int) { total.withLock { $0 += count } }
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        add(unwrapInboundIn(data).data.readableBytes)
    }
}

/// An unauthenticated sender on 127.0.0.1 counting what comes back.
struct Sender {
    let channel: Channel
    let counter: ByteCounter
    var address: NetAddress { NetAddress(channel.localAddress!)! }

    init(group: EventLoopGroup) async throws {
        let counter = ByteCounter()
        self.counter = counter
        channel = try await DatagramBootstrap(group: group)
            .channelInitializer { $0.pipeline.addHandler(counter) }
            .bind(host: "127.0.0.1", port: 0).get()
    }

    func send(_ bytes: [UInt8], to target: NetAddress) async throws {
        let buffer = channel.allocator.buffer(bytes: bytes)
        try await channel.writeAndFlush(AddressedEnvelope(remoteAddress: SocketAddress(target), data: buffer))
    }

    func close() async throws { try await channel.close() }
}
