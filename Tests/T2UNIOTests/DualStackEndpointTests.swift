// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import NIOPosix
import T2UCore
import T2UTestSupport
import Testing

@testable import T2UNIO

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// This host has ::1 (IPv6 not disabled): the IPv6 loopback tests need it.
let ipv6LoopbackAvailable: Bool = {
    guard let descriptor = try? DatagramSocket.bound(host: "::1", port: 0) else { return false }
    close(descriptor)
    return true
}()

/// One "::" socket serves IPv4 and IPv6 peers: IPv4 peers meet the core as IPv4 addresses (not
/// ::ffff:a.b.c.d), and sends to them (GSO runs included) leave through the same socket.
@Suite(.enabled(if: ipv6LoopbackAvailable, "needs IPv6 loopback (::1)"))
struct DualStackEndpointTests {
    @Test func oneSocketTalksToIPv4AndIPv6Peers() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        var dualConfig = UDPEndpoint.Configuration()
        dualConfig.host = "::"
        var v4Config = UDPEndpoint.Configuration()
        v4Config.host = "127.0.0.1"
        var v6Config = UDPEndpoint.Configuration()
        v6Config.host = "::1"
        let dualSink = DatagramCollector()
        let v4Sink = DatagramCollector()
        let v6Sink = DatagramCollector()
        let dual = try await BoundEndpoint.bind(on: loop, configuration: dualConfig, sink: dualSink)
        let v4 = try await BoundEndpoint.bind(on: loop, configuration: v4Config, sink: v4Sink)
        let v6 = try await BoundEndpoint.bind(on: loop, configuration: v6Config, sink: v6Sink)
        #expect(dual.localAddress.protocol == .inet6)
        let dualPort = UInt16(dual.localAddress.port!)
        let v4Address = try #require(NetAddress(v4.localAddress))
        let v6Address = try #require(NetAddress(v6.localAddress))
        #expect(v6Address.isIPv6 && !v4Address.isIPv6)

        let count = 20  // equal sizes: one GSO run per destination where the host has GSO
        try await loop.submit {
            for index in 0..<count {
                dual.value.enqueue(patternDatagram(index: index, size: 1200), to: v4Address)
                dual.value.enqueue(patternDatagram(index: index, size: 1200), to: v6Address)
            }
            dual.value.flush()
            v4.value.enqueue(
                patternDatagram(index: 100, size: 300), to: NetAddress(ipv4: (127, 0, 0, 1), port: dualPort))
            v4.value.flush()
            v6.value.enqueue(patternDatagram(index: 200, size: 300), to: NetAddress(host: .v6(0, 1), port: dualPort))
            v6.value.flush()
        }.get()
        // On a timeout the expectations below say what is missing.
        _ = try? await v4Sink.arrivals.wait(for: "\(count) datagrams over IPv4", timeout: .seconds(5)) { $0 >= count }
        _ = try? await v6Sink.arrivals.wait(for: "\(count) datagrams over IPv6", timeout: .seconds(5)) { $0 >= count }
        _ = try? await dualSink.arrivals.wait(for: "2 datagrams at the dual-stack socket", timeout: .seconds(5)) {
            $0 >= 2
        }
        let (to4, to6, toDual, counters) = try await loop.submit {
            (v4Sink.received, v6Sink.received, dualSink.received, dual.value.counters)
        }.get()
        #expect(to4.count == count && to6.count == count, "IPv4 got \(to4.count), IPv6 got \(to6.count) of \(count)")
        for (index, (datagram, from)) in to4.enumerated() {
            #expect(datagram == patternDatagram(index: index, size: 1200) && from.port == dualPort)
        }
        for (index, (datagram, from)) in to6.enumerated() {
            #expect(datagram == patternDatagram(index: index, size: 1200) && from.port == dualPort)
        }
        #expect(counters.sendErrors == 0, "\(counters)")
        let senders = Set(toDual.map(\.1))
        #expect(
            senders == [v4Address, v6Address],
            "the IPv4 peer must appear as 127.0.0.1, not ::ffff:127.0.0.1: \(senders)")
        try await dual.close()
        try await v4.close()
        try await v6.close()
        try await group.shutdownGracefully()
    }
}
