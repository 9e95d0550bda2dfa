// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Logging
import NIOCore
import NIOEmbedded
import T2UCore
import Testing

@testable import T2UNIO

/// The port mapper's socket handler (`GatewayPortMapper.Receiver`) back to back in an
/// `EmbeddedChannel`, in front of a real shell and `GatewayMapper`: anyone on the LAN can send to
/// that socket, so only the gateway's address may answer PCP, and nothing oversized is parsed.
/// No socket: the shell's descriptor is -1 (its sends fail, logged at debug, and go nowhere).
@Suite struct GatewayPortMapperTests {
    static let gateway = NetAddress(ipv4: (192, 0, 2, 1), port: 5351)
    static let client: UInt32 = 0xC000_020A  // 192.0.2.10
    static let internalPort: UInt16 = 40_123

    final class Heard {
        var mappings: [GatewayMapping?] = []
    }

    /// A started mapper behind the handler, and the PCP request it made (its nonce and port are
    /// what an answer must echo).
    static func channel() throws -> (EmbeddedChannel, Heard, request: [UInt8]) {
        let channel = EmbeddedChannel()
        let loop = channel.embeddedEventLoop
        var mapper = GatewayMapper(
            internalPort: internalPort, client: client, gateway: gateway, entropy: SeededEntropy(seed: 3))
        let actions = mapper.start(now: EndpointDriver.now())
        let request = try #require(
            actions.lazy.compactMap { action -> [UInt8]? in
                if case .sendToGateway(let bytes) = action { bytes } else { nil }
            }.first)
        let heard = Heard()
        let state = NIOLoopBoundBox(
            GatewayPortMapper.State(mapper: mapper, onChange: { heard.mappings.append($0) }), eventLoop: loop)
        let shell = GatewayPortMapper(
            eventLoop: loop, channel: channel, descriptor: -1, state: state, logger: Logger(label: "test"))
        let receiver = GatewayPortMapper.Receiver()
        receiver.shell = shell
        try channel.pipeline.syncOperations.addHandler(receiver)
        return (channel, heard, request)
    }

    static func u32(_ v: UInt32) -> [UInt8] {
        [UInt8(v >> 24), UInt8(v >> 16 & 0xff), UInt8(v >> 8 & 0xff), UInt8(v & 0xff)]
    }

    /// A PCP MAP success answering `request` (RFC 6887 §11.2): external 203.0.113.2:40000.
    static func pcpMapResponse(to request: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [2, 0x81, 0, 0] + u32(7200) + u32(100) + [UInt8](repeating: 0, count: 12)
        out += request[24..<36]  // nonce
        out += [17, 0, 0, 0] + request[40..<42] + [0x9C, 0x40]
        out += [UInt8](repeating: 0, count: 10) + [0xff, 0xff] + u32(0xCB00_7102)
        return out
    }

    static func envelope(_ bytes: [UInt8], from source: NetAddress) -> AddressedEnvelope<ByteBuffer> {
        AddressedEnvelope(remoteAddress: SocketAddress(source), data: ByteBuffer(bytes: bytes))
    }

    @Test func theGatewaysAnswerIsAMapping() throws {
        let (channel, heard, request) = try Self.channel()
        try channel.writeInbound(Self.envelope(Self.pcpMapResponse(to: request), from: Self.gateway))
        #expect(
            heard.mappings == [
                GatewayMapping(
                    via: .pcp, external: NetAddress(ipv4: (203, 0, 113, 2), port: 40_000), lifetimeSeconds: 7200)
            ])
    }

    /// The same answer from another host on the LAN (or from the gateway's address, other port)
    /// maps nothing: it is not the gateway's.
    @Test func anAnswerFromAnyoneElseIsIgnored() throws {
        let (channel, heard, request) = try Self.channel()
        let answer = Self.pcpMapResponse(to: request)
        try channel.writeInbound(Self.envelope(answer, from: NetAddress(ipv4: (192, 0, 2, 66), port: 5351)))
        try channel.writeInbound(Self.envelope(answer, from: NetAddress(ipv4: (192, 0, 2, 1), port: 5350)))
        #expect(heard.mappings.isEmpty)
    }

    /// Junk and oversized datagrams from the gateway are dropped; a good answer after them still maps.
    @Test func junkFromTheGatewayIsDroppedAndHarmless() throws {
        let (channel, heard, request) = try Self.channel()
        var oversized = Self.pcpMapResponse(to: request)
        oversized += [UInt8](repeating: 0, count: Swift.max(PCPMessage.maxLength, SSDPMessage.maxLength))
        for junk in [[], [2], [2, 0x81], [UInt8](repeating: 0xFF, count: 60), oversized] {
            try channel.writeInbound(Self.envelope(junk, from: Self.gateway))
        }
        try channel.writeInbound(Self.envelope(Array("HTTP/1.1 200 OK\r\n\r\n".utf8), from: Self.gateway))
        #expect(heard.mappings.isEmpty)
        try channel.writeInbound(Self.envelope(Self.pcpMapResponse(to: request), from: Self.gateway))
        #expect(heard.mappings.count == 1)
    }

    /// A read error (ICMP port unreachable from a gateway without PCP) leaves the socket open.
    @Test func aReadErrorLeavesTheSocketOpen() throws {
        struct Unreachable: Error {}
        let (channel, _, _) = try Self.channel()
        try channel.connect(to: SocketAddress(Self.gateway)).wait()
        channel.pipeline.fireErrorCaught(Unreachable())
        #expect(throws: Never.self) { try channel.throwIfErrorCaught() }
        #expect(channel.isActive)
    }
}
