// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import NIOPosix
import Synchronization
import T2UClient
import T2UCore
import T2UNIO
import Testing

/// A forged SEARCH_REPLY cannot add a line or a field to `t2u search` / `t2u_search` output
/// (docs/SECURITY.md §4): the client drops replies whose UUID breaks the UUID rule or has a comma.
@Suite(.serialized) struct SearchInjectionTests {
    @Test func forgedRepliesProduceNoLine() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let forger = Forger(uuids: ["cam\nuuid=evil,ip=6.6.6.6", "cam,ip=6.6.6.6", "cam\r", "", "cam-ok"])
        let responder = try await DatagramBootstrap(group: group)
            .channelInitializer { $0.pipeline.addHandler(forger) }
            .bind(host: "127.0.0.1", port: 0).get()
        let server = TestServer()
        try await server.start()
        var options = clientOptions(server)
        options.discoveryAddress = "127.0.0.1"
        options.discoveryPort = UInt16(responder.localAddress!.port!)
        let client = try await T2UClient(options: options)
        let found = try await client.search(timeout: .milliseconds(300))
        #expect(found == [DiscoveredDevice(uuid: "cam-ok", ip: "127.0.0.1")], "\(found)")
        let lines = found.map { "uuid=\($0.uuid),ip=\($0.ip)" }
        #expect(lines.allSatisfy { !$0.contains("\n") && !$0.contains("\r") && $0.filter { $0 == "," }.count == 1 })
        #expect(
            forger.searchSizes.allSatisfy { $0 >= SignalingLimits.minSearchRequest },
            "SEARCH padded: \(forger.searchSizes)")
        await client.shutdown()
        try await responder.close()
        await server.stop()
        try await group.shutdownGracefully()
    }
}

/// Answers each SEARCH with one reply per UUID in `uuids` (forged ones among them).
final class Forger: ChannelInboundHandler, Sendable {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    typealias OutboundOut = AddressedEnvelope<ByteBuffer>
    let uuids: [String]
    private let sizes = Mutex<[Int]>([])
    var searchSizes: [Int] { sizes.withLock { $0 } }

    init(uuids: [String]) { self.uuids = uuids }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = Self.unwrapInboundIn(data)
        guard case .search(let id, _)? = try? SignalingMessage.parse(envelope.data) else { return }
        sizes.withLock { $0.append(envelope.data.readableBytes) }
        for uuid in uuids {
            var buffer = context.channel.allocator.buffer(capacity: 96)
            SignalingMessage.searchReply(requestID: id, uuid: uuid, address: NetAddress(ipv4: (0, 0, 0, 0), port: 0))
                .write(into: &buffer)
            context.writeAndFlush(
                Self.wrapOutboundOut(AddressedEnvelope(remoteAddress: envelope.remoteAddress, data: buffer)),
                promise: nil)
        }
    }
}
