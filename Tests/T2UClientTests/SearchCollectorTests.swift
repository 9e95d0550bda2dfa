// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import NIOEmbedded
import T2UCore
import Testing

@testable import T2UClient

/// `t2u search`'s collector (`SearchCollector`) back to back in an `EmbeddedChannel`: answers
/// from anyone on the LAN are untrusted, and only well-formed replies to our request, from our
/// subnets, become devices (once each).
@Suite struct SearchCollectorTests {
    static let requestID: UInt32 = 0xA11C_E5ED
    static let lan = LocalSubnet(host: .v4(0xC000_0200), prefixLength: 24)  // 192.0.2.0/24

    static func channel() throws -> (EmbeddedChannel, SearchCollector) {
        let collector = SearchCollector(requestID: requestID, subnets: [lan])
        let channel = EmbeddedChannel(handler: collector)
        return (channel, collector)
    }

    static func reply(
        id: UInt32 = requestID, uuid: String, naming address: NetAddress = NetAddress(ipv4: (0, 0, 0, 0), port: 0),
        from source: String
    ) throws -> AddressedEnvelope<ByteBuffer> {
        var buffer = ByteBuffer()
        SignalingMessage.searchReply(requestID: id, uuid: uuid, address: address).write(into: &buffer)
        return AddressedEnvelope(remoteAddress: try SocketAddress(ipAddress: source, port: 7011), data: buffer)
    }

    @Test func aReplyFromTheLANIsADevice() throws {
        let (channel, collector) = try Self.channel()
        // One that does not know its address (0.0.0.0) is listed where it answered from; one
        // that names a LAN address, at that address.
        try channel.writeInbound(try Self.reply(uuid: "cam-1", from: "192.0.2.10"))
        try channel.writeInbound(
            try Self.reply(uuid: "cam-2", naming: NetAddress(ipv4: (192, 0, 2, 30), port: 40_001), from: "192.0.2.11"))
        #expect(
            collector.found == [
                DiscoveredDevice(uuid: "cam-1", ip: "192.0.2.10"), DiscoveredDevice(uuid: "cam-2", ip: "192.0.2.30"),
            ])
        #expect(try channel.readOutbound(as: AddressedEnvelope<ByteBuffer>.self) == nil, "the collector never answers")
        #expect(try channel.finish().isClean)
    }

    @Test func aRepeatedReplyIsListedOnce() throws {
        let (channel, collector) = try Self.channel()
        for _ in 0..<3 { try channel.writeInbound(try Self.reply(uuid: "cam-1", from: "192.0.2.10")) }
        #expect(collector.found == [DiscoveredDevice(uuid: "cam-1", ip: "192.0.2.10")])
        _ = try channel.finish()
    }

    /// A device naming an address off our LAN (or a broadcast address) is listed where it
    /// answered from: a reply cannot point `t2u` elsewhere.
    @Test func anAddressOffTheLANIsReplacedByTheSource() throws {
        let (channel, collector) = try Self.channel()
        try channel.writeInbound(
            try Self.reply(uuid: "cam-1", naming: NetAddress(ipv4: (8, 8, 8, 8), port: 1), from: "192.0.2.10"))
        try channel.writeInbound(
            try Self.reply(uuid: "cam-2", naming: NetAddress(ipv4: (192, 0, 2, 255), port: 1), from: "192.0.2.11"))
        #expect(
            collector.found == [
                DiscoveredDevice(uuid: "cam-1", ip: "192.0.2.10"), DiscoveredDevice(uuid: "cam-2", ip: "192.0.2.11"),
            ])
        _ = try channel.finish()
    }

    @Test func strangersOtherRequestsForgeriesAndJunkAreIgnored() throws {
        let (channel, collector) = try Self.channel()
        try channel.writeInbound(try Self.reply(uuid: "far-away", from: "198.51.100.9"))
        try channel.writeInbound(try Self.reply(id: Self.requestID &+ 1, uuid: "old-search", from: "192.0.2.10"))
        for forged in ["cam\nuuid=evil,ip=6.6.6.6", "cam,ip=6.6.6.6", "cam 1", "cam\r", ""] {
            try channel.writeInbound(try Self.reply(uuid: forged, from: "192.0.2.10"))
        }
        var search = ByteBuffer()
        SignalingMessage.search(requestID: Self.requestID, uuid: nil).write(into: &search)
        try channel.writeInbound(
            AddressedEnvelope(remoteAddress: try SocketAddress(ipAddress: "192.0.2.12", port: 7011), data: search))
        for junk: [UInt8] in [[], [0x30], [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF], Array(repeating: 0x41, count: 1500)] {
            try channel.writeInbound(
                AddressedEnvelope(
                    remoteAddress: try SocketAddress(ipAddress: "192.0.2.13", port: 7011), data: ByteBuffer(bytes: junk)
                ))
        }
        #expect(collector.found.isEmpty, "\(collector.found)")
        struct Unreachable: Error {}
        channel.pipeline.fireErrorCaught(Unreachable())
        #expect(throws: Never.self) { try channel.throwIfErrorCaught() }
        #expect(try channel.finish().isClean)
    }
}
