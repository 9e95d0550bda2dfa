// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import NIOPosix
import T2UCore
import T2UNIO

/// `t2u_search`: one SEARCH datagram to the discovery group (multicast TTL 1, so it stays on
/// the LAN) or to a unicast address, from a temporary socket; SEARCH_REPLYs with our request
/// ID are collected for `timeout` and de-duplicated. Only replies `SearchReplyCheck` accepts
/// count (from our subnets, valid UUID without a comma): nothing from the wire can add a line
/// or a field to `t2u search` / `t2u_search` output.
enum LANSearch {
    static func run(on loop: EventLoop, address: String, port: UInt16, timeout: Nanos) -> EventLoopFuture<[DiscoveredDevice]> {
        let destination: SocketAddress
        do {
            destination = try SocketAddress(ipAddress: address, port: Int(port))
        } catch {
            return loop.makeFailedFuture(T2UClientError.invalidArgument("discovery address \(address)"))
        }
        let requestID = UInt32(truncatingIfNeeded: SystemEntropy().nextUInt64())
        let collector = SearchCollector(requestID: requestID, subnets: LocalAddresses.subnets())
        let bindHost = destination.protocol == .inet6 ? "::" : "0.0.0.0"
        return DatagramBootstrap(group: loop)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(collector) }
            }
            .bind(host: bindHost, port: 0)
            .flatMap { channel -> EventLoopFuture<[DiscoveredDevice]> in
                let ttl: EventLoopFuture<Void>
                if isMulticast(destination) {
                    ttl = destination.protocol == .inet6
                        ? channel.setOption(.socketOption(.ipv6_multicast_hops), value: 1)
                        : channel.setOption(.ipOption(.ip_multicast_ttl), value: 1)
                } else {
                    ttl = loop.makeSucceededVoidFuture()
                }
                var buffer = channel.allocator.buffer(capacity: SignalingLimits.minSearchRequest)
                SignalingMessage.search(requestID: requestID, uuid: nil).write(into: &buffer)
                let probe = buffer
                return ttl.flatMap {
                    channel.writeAndFlush(AddressedEnvelope(remoteAddress: destination, data: probe))
                }.flatMap {
                    loop.scheduleTask(in: .nanoseconds(max(0, timeout.value))) {}.futureResult
                }.flatMap {
                    channel.close().map { collector.found }
                }.flatMapError { error in
                    channel.close(promise: nil)
                    return loop.makeFailedFuture(error)
                }
            }
    }

    private static func isMulticast(_ address: SocketAddress) -> Bool {
        guard let net = NetAddress(address) else { return false }
        switch net.host {
        case .v4(let raw): return (raw >> 28) == 0xE
        case .v6(let hi, _): return (hi >> 56) == 0xFF
        }
    }
}

private final class SearchCollector: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    let requestID: UInt32
    let subnets: [LocalSubnet]
    private(set) var found: [DiscoveredDevice] = []

    init(requestID: UInt32, subnets: [LocalSubnet]) {
        self.requestID = requestID
        self.subnets = subnets
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = Self.unwrapInboundIn(data)
        guard let source = NetAddress(envelope.remoteAddress),
              let reply = SearchReplyCheck.accept(envelope.data, requestID: requestID, from: source, subnets: subnets) else { return }
        let device = DiscoveredDevice(uuid: reply.uuid, ip: reply.ip)
        if !found.contains(device) { found.append(device) }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {}
}
