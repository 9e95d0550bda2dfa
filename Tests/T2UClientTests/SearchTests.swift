// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import NIOPosix
import T2UClient
import T2UCore
import T2UDevice
import Testing

/// Answers every SEARCH on 127.0.0.1 with one SEARCH_REPLY per `uuids`.
private final class FakeDevices: ChannelInboundHandler, Sendable {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    typealias OutboundOut = AddressedEnvelope<ByteBuffer>
    let uuids: [String]
    init(uuids: [String]) { self.uuids = uuids }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = Self.unwrapInboundIn(data)
        guard case .search(let id, _)? = try? SignalingMessage.parse(envelope.data) else { return }
        for (index, uuid) in uuids.enumerated() {
            var reply = context.channel.allocator.buffer(capacity: 64)
            SignalingMessage.searchReply(
                requestID: id, uuid: uuid, address: NetAddress(ipv4: (127, 0, 0, 1), port: UInt16(9000 + index))
            )
            .write(into: &reply)
            context.write(
                Self.wrapOutboundOut(AddressedEnvelope(remoteAddress: envelope.remoteAddress, data: reply)),
                promise: nil)
        }
        context.flush()
    }
}

/// Issue 10, item 8: `t2u_search` needs no server and never writes a cut line.
@Suite struct SearchTests {
    @Test func searchWorksWithoutAnSDKInstance() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let responder = try await DatagramBootstrap(group: group)
            .channelInitializer { $0.pipeline.addHandler(FakeDevices(uuids: ["cam-a", "cam-b"])) }
            .bind(host: "127.0.0.1", port: 0).get()
        let port = try #require(responder.localAddress?.port)
        let found = try await T2UClient.search(address: "127.0.0.1", port: UInt16(port), timeout: .milliseconds(300))
        #expect(Set(found.map(\.uuid)) == ["cam-a", "cam-b"])
        #expect(found.allSatisfy { $0.ip == "127.0.0.1" })
        try await responder.close()
        try await group.shutdownGracefully()
    }

    /// A real device agent answers on both families (its IPv6 socket is IPv6-only: one answer
    /// per query), and a search at both lists it once, with its IPv4 address.
    @Test func deviceAnswersOverIPv6AndBothFamiliesListItOnce() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        // A port free on both families for the agent's discovery sockets.
        let probe = try await DatagramBootstrap(group: group).bind(host: "::", port: 0).get()
        let discoveryPort = try #require(probe.localAddress?.port)
        try await probe.close()
        var options = DeviceAgentOptions(uuid: "cam-v6", server: "127.0.0.1", serverPort: 9)
        options.discoveryPort = UInt16(discoveryPort)
        options.portMapping = false
        let agent = try DeviceAgent(options: options)
        try await agent.start()
        do {
            let v6 = try await T2UClient.search(
                address: "::1", port: UInt16(discoveryPort), timeout: .milliseconds(400))
            #expect(v6.count == 1 && v6.first?.uuid == "cam-v6" && v6.first?.ip == "::1", "\(v6)")
            let both = try await T2UClient.search(
                address: "127.0.0.1", ipv6Group: "::1", port: UInt16(discoveryPort),
                timeout: .milliseconds(400))
            #expect(both == [DiscoveredDevice(uuid: "cam-v6", ip: "127.0.0.1")], "\(both)")
        } catch {
            await agent.shutdown()
            throw error
        }
        await agent.shutdown()
        try await group.shutdownGracefully()
    }

    @Test func reportHoldsOnlyWholeLines() throws {
        let devices = [
            DiscoveredDevice(uuid: "cam-a", ip: "192.0.2.5"), DiscoveredDevice(uuid: "cam-b", ip: "192.0.2.6"),
        ]
        let line = "uuid=cam-a,ip=192.0.2.5\n"  // 24 bytes
        let all = try #require(SearchReport(devices, capacity: 4096))
        #expect(all.count == 2 && all.text == line + "uuid=cam-b,ip=192.0.2.6\n")
        // Exactly one line and its NUL fit; one byte less and nothing fits.
        #expect(
            SearchReport(devices, capacity: line.utf8.count + 1) == SearchReport(devices, capacity: 2 * line.utf8.count)
        )
        let one = try #require(SearchReport(devices, capacity: line.utf8.count + 1))
        #expect(one.count == 1 && one.text == line)
        #expect(SearchReport(devices, capacity: line.utf8.count) == nil, "too small for one line: -1, never a cut line")
        #expect(SearchReport(devices, capacity: 10) == nil)
        let none = try #require(SearchReport([], capacity: 1))
        #expect(none.count == 0 && none.text.isEmpty)
    }
}
