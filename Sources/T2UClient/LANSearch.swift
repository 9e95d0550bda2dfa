// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import NIOPosix
import T2UCore
import T2UNIO

/// `t2u_search`: one SEARCH datagram to the discovery group (multicast TTL 1, so it stays on
/// the LAN; an IPv6 group once per IPv6 interface, its scope being the link) or to a unicast
/// address, from a temporary socket; SEARCH_REPLYs with our request ID are collected for
/// `timeout` and de-duplicated. Only replies `SearchReplyCheck` accepts count (from our
/// subnets, valid UUID without a comma): nothing from the wire can add a line or a field to
/// `t2u search` / `t2u_search` output.
enum LANSearch {
    /// Searches at `addresses` at once (one socket each) and merges: a device heard on several
    /// is listed once, with the first address family's answer (IPv4 first, as the manual's
    /// callers expect). An address whose family this host lacks finds nothing, not an error.
    static func run(
        on loop: EventLoop, addresses: [String], port: UInt16, timeout: Nanos
    ) -> EventLoopFuture<[DiscoveredDevice]> {
        let searches = addresses.enumerated().map { index, address in
            run(on: loop, address: address, port: port, timeout: timeout).flatMapError { error in
                // The first (IPv4) search reports its failure; the others only miss their answers.
                index == 0 ? loop.makeFailedFuture(error) : loop.makeSucceededFuture([])
            }
        }
        return EventLoopFuture.whenAllSucceed(searches, on: loop).map(merge)
    }

    /// One entry per UUID, from the first list that has it.
    static func merge(_ lists: [[DiscoveredDevice]]) -> [DiscoveredDevice] {
        var seen = Set<String>()
        return lists.flatMap { $0 }.filter { seen.insert($0.uuid).inserted }
    }

    static func run(
        on loop: EventLoop, address: String, port: UInt16, timeout: Nanos
    ) -> EventLoopFuture<[DiscoveredDevice]> {
        let destination: SocketAddress
        do {
            destination = try SocketAddress(ipAddress: address, port: Int(port))
        } catch {
            return loop.makeFailedFuture(T2UClientError.invalidArgument("discovery address \(address)"))
        }
        let requestID = UInt32(truncatingIfNeeded: SystemEntropy().nextUInt64())
        let subnets = LocalAddresses.subnets()
        let bindHost = destination.protocol == .inet6 ? "::" : "0.0.0.0"
        return DatagramBootstrap(group: loop)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        SearchCollector(requestID: requestID, subnets: subnets))
                }
            }
            .bind(host: bindHost, port: 0)
            .flatMap { channel -> EventLoopFuture<[DiscoveredDevice]> in
                var buffer = channel.allocator.buffer(capacity: SignalingLimits.minSearchRequest)
                SignalingMessage.search(requestID: requestID, uuid: nil).write(into: &buffer)
                let probe = buffer
                let sent: EventLoopFuture<Void>
                if !isMulticast(destination) {
                    sent = channel.writeAndFlush(AddressedEnvelope(remoteAddress: destination, data: probe))
                } else if destination.protocol == .inet6 {
                    // A link-local group needs an interface: one copy out of each IPv6 interface.
                    let indices = LocalAddresses.ipv6MulticastLinks().map(\.index)
                    sent = channel.setOption(
                        ChannelOptions.Types.SocketOption(level: .ipv6, name: .ipv6_multicast_hops), value: 1
                    )
                    .flatMap {
                        indices.reduce(loop.makeSucceededVoidFuture()) { previous, index in
                            previous.flatMap {
                                channel.setOption(
                                    ChannelOptions.Types.SocketOption(level: .ipv6, name: .ipv6_multicast_if),
                                    value: index)
                            }.flatMap {
                                channel.writeAndFlush(AddressedEnvelope(remoteAddress: destination, data: probe))
                            }.recover { _ in }  // one interface refusing must not cost the others
                        }
                    }
                } else {
                    sent = channel.setOption(.ipOption(.ip_multicast_ttl), value: 1).flatMap {
                        channel.writeAndFlush(AddressedEnvelope(remoteAddress: destination, data: probe))
                    }
                }
                return sent.flatMap {
                    loop.scheduleTask(in: .nanoseconds(max(0, timeout.value))) {}.futureResult
                }.flatMapThrowing {
                    try channel.pipeline.syncOperations.handler(type: SearchCollector.self).found
                }.flatMap { found in
                    channel.close().map { found }
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

final class SearchCollector: ChannelInboundHandler {
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
            let reply = SearchReplyCheck.accept(envelope.data, requestID: requestID, from: source, subnets: subnets)
        else { return }
        let device = DiscoveredDevice(uuid: reply.uuid, ip: reply.ip)
        if !found.contains(device) { found.append(device) }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {}
}
