// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Logging
import NIOCore
import NIOEmbedded
import T2UCore
import Testing

@testable import T2UDevice

/// The LAN discovery handler back to back in an `EmbeddedChannel`: no socket, no sleep.
@Suite struct DiscoveryHandlerTests {
    static let lan = LocalSubnet(host: .v4(0xC000_0200), prefixLength: 24)  // 192.0.2.0/24
    static let agentPort: UInt16 = 40_001

    static func channel(uuid: String = "cam-embedded") throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(
            DiscoveryHandler(uuid: uuid, agentPort: agentPort, subnets: { [lan] }, logger: Logger(label: "test")))
        return channel
    }

    /// A query from `source` that reached the agent's 192.0.2.1:7011.
    static func query(_ message: SignalingMessage, from source: String) throws -> AddressedEnvelope<ByteBuffer> {
        var buffer = ByteBuffer()
        message.write(into: &buffer)
        let arrivedOn = NIOPacketInfo(
            destinationAddress: try SocketAddress(ipAddress: "192.0.2.1", port: 7011), interfaceIndex: 1)
        return AddressedEnvelope(
            remoteAddress: try SocketAddress(ipAddress: source, port: 50_000), data: buffer,
            metadata: .init(ecnState: .transportNotCapable, packetInfo: arrivedOn))
    }

    @Test func aSearchFromItsSubnetIsAnsweredWithTheAddressItCameTo() throws {
        let channel = try Self.channel()
        try channel.writeInbound(try Self.query(.search(requestID: 9, uuid: nil), from: "192.0.2.20"))
        let reply = try #require(try channel.readOutbound(as: AddressedEnvelope<ByteBuffer>.self))
        #expect(reply.remoteAddress == (try SocketAddress(ipAddress: "192.0.2.20", port: 50_000)))
        #expect(
            try SignalingMessage.parse(reply.data)
                == .searchReply(
                    requestID: 9, uuid: "cam-embedded", address: NetAddress(ipv4: (192, 0, 2, 1), port: Self.agentPort))
        )
        #expect(try channel.readOutbound(as: AddressedEnvelope<ByteBuffer>.self) == nil, "one reply per query")
        #expect(try channel.finish().isClean)
    }

    @Test func strangersOtherUUIDsAndJunkGetNothing() throws {
        let channel = try Self.channel()
        // Outside the agent's subnets: not a LAN neighbour.
        try channel.writeInbound(try Self.query(.search(requestID: 1, uuid: nil), from: "198.51.100.9"))
        // Another device's UUID.
        try channel.writeInbound(try Self.query(.search(requestID: 2, uuid: "someone-else"), from: "192.0.2.20"))
        // Not a search at all.
        try channel.writeInbound(try Self.query(.probe(requestID: 3), from: "192.0.2.20"))
        let junk = ByteBuffer(bytes: [0x30, 0xFF, 0x00])
        try channel.writeInbound(
            AddressedEnvelope(remoteAddress: try SocketAddress(ipAddress: "192.0.2.21", port: 50_000), data: junk))
        #expect(try channel.readOutbound(as: AddressedEnvelope<ByteBuffer>.self) == nil)
        #expect(try channel.finish().isClean)
    }
}
