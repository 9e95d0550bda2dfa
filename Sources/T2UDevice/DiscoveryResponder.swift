// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Logging
import NIOCore
import NIOPosix
import T2UCore
import T2UNIO

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Answers LAN discovery: SEARCH (for every device, or for our UUID) gets a SEARCH_REPLY with
/// our UUID and the address clients on that LAN reach the agent's UDP socket at. Listens on its
/// own port, shared with other devices on the host (SO_REUSEADDR/SO_REUSEPORT), one socket per
/// family (the IPv6 one IPv6-only, so an IPv4 query is not answered twice), joined to the
/// family's multicast group where possible; unicast queries to the port are answered as well,
/// but only as `DiscoveryGate` allows (padded, from our subnets, rate-limited, never amplified).
enum DiscoveryResponder {
    /// Binds and joins; failing to join a group is logged, not fatal (unicast still works), and
    /// so is a host without IPv6 (IPv4 discovery carries on). Returns the bound sockets.
    static func start(
        group: EventLoopGroup, port: UInt16, multicastGroup: String?, ipv6Group: String?, uuid: String,
        agentPort: UInt16,
        subnets: @escaping @Sendable () -> [LocalSubnet], logger: Logger
    ) async throws -> [Channel] {
        let v4 = try await bind(
            group: group, host: "0.0.0.0", port: port, uuid: uuid, agentPort: agentPort, subnets: subnets,
            logger: logger)
        if let multicastGroup {
            await join(
                channel: v4, group: multicastGroup, port: port, interfaces: LocalAddresses.ipv4Interfaces(),
                logger: logger)
        }
        guard let ipv6Group else { return [v4] }
        do {
            let v6 = try await bind(
                group: group, host: "::", port: port, uuid: uuid, agentPort: agentPort, subnets: subnets, logger: logger
            )
            // One join per interface, however many IPv6 addresses it has.
            await join(
                channel: v6, group: ipv6Group, port: port, interfaces: LocalAddresses.ipv6MulticastLinks(),
                logger: logger)
            return [v4, v6]
        } catch {
            logger.info(
                "discovery: no IPv6 socket (IPv4 discovery only)", metadata: ["port": "\(port)", "error": "\(error)"])
            return [v4]
        }
    }

    private static func bind(
        group: EventLoopGroup, host: String, port: UInt16, uuid: String, agentPort: UInt16,
        subnets: @escaping @Sendable () -> [LocalSubnet], logger: Logger
    ) async throws -> Channel {
        var bootstrap = DatagramBootstrap(group: group)
            .channelOption(.socketOption(.so_reuseaddr), value: 1)
            .channelOption(.socketOption(NIOBSDSocket.Option(rawValue: SO_REUSEPORT)), value: 1)
            .channelOption(.receivePacketInfo, value: true)
        if host == "::" {
            bootstrap = bootstrap.channelOption(
                ChannelOptions.Types.SocketOption(level: .ipv6, name: .ipv6_v6only), value: 1)
        }
        return
            try await bootstrap
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        DiscoveryHandler(uuid: uuid, agentPort: agentPort, subnets: subnets, logger: logger))
                }
            }
            .bind(host: host, port: Int(port)).get()
    }

    private static func join(
        channel: Channel, group: String, port: UInt16, interfaces: [LocalAddresses.Interface],
        logger: Logger
    ) async {
        guard let multicast = channel as? MulticastChannel,
            let groupAddress = try? SocketAddress(ipAddress: group, port: Int(port))
        else {
            logger.warning("discovery: cannot join multicast group", metadata: ["group": "\(group)"])
            return
        }
        var joined = 0
        for interface in interfaces where interface.device.multicastSupported {
            do {
                try await multicast.joinGroup(groupAddress, device: interface.device).get()
                joined += 1
            } catch {
                logger.info(
                    "discovery: cannot join multicast group on interface",
                    metadata: ["group": "\(group)", "interface": "\(interface.device.name)", "error": "\(error)"])
            }
        }
        if joined == 0 {
            logger.warning(
                "discovery: multicast group not joined on any interface; answering unicast only",
                metadata: ["group": "\(group)"])
        }
    }
}

/// Runs each datagram through `DiscoveryGate` and sends the reply it allows to the sender.
/// Loop-confined (a channel handler).
final class DiscoveryHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    typealias OutboundOut = AddressedEnvelope<ByteBuffer>

    /// Interfaces are re-read at most this often (a flood must not cost a getifaddrs each).
    static let subnetRefresh = Nanos.seconds(5)

    let agentPort: UInt16
    let logger: Logger
    private let readSubnets: @Sendable () -> [LocalSubnet]
    private var gate: DiscoveryGate
    private var subnets: [LocalSubnet] = []
    private var subnetsReadAt: Instant?

    init(uuid: String, agentPort: UInt16, subnets: @escaping @Sendable () -> [LocalSubnet], logger: Logger) {
        self.agentPort = agentPort
        self.logger = logger
        self.readSubnets = subnets
        gate = DiscoveryGate(uuid: uuid, now: EndpointDriver.now())
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        guard let source = NetAddress(envelope.remoteAddress) else { return }
        let now = EndpointDriver.now()
        if subnetsReadAt.map({ now - $0 >= Self.subnetRefresh }) ?? true {
            subnets = readSubnets()
            subnetsReadAt = now
        }
        let packetInfo = envelope.metadata?.packetInfo
        switch gate.handle(
            envelope.data, from: source, subnets: subnets,
            replyAddress: {
                NetAddress(host: Self.localHost(for: packetInfo), port: agentPort)
            }, now: now)
        {
        case .reply(let reply):
            context.writeAndFlush(
                wrapOutboundOut(AddressedEnvelope(remoteAddress: envelope.remoteAddress, data: reply)), promise: nil)
        case .drop(let refusal):
            logger.trace("discovery: dropped", metadata: ["source": "\(source)", "reason": "\(refusal)"])
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // ICMP errors from earlier replies and the like: keep serving.
        logger.debug("discovery socket error", metadata: ["error": "\(error)"])
    }

    /// The address the query arrived on; for multicast (or when unknown) an address of that
    /// interface (IPv6: global or unique-local; none: unspecified, and the client names the
    /// reply's source instead), else the first LAN address.
    static func localHost(for info: NIOPacketInfo?) -> NetAddress.Host {
        if let info, let destination = NetAddress(info.destinationAddress),
            !LocalAddresses.isUnspecifiedOrMulticast(destination.host), destination.ipv6Class != .linkLocal
        {
            return destination.host
        }
        if let info, NetAddress(info.destinationAddress)?.ipv6Class != nil {
            return replyHostIPv6(
                interfaceIndex: info.interfaceIndex,
                addresses: LocalAddresses.ipv6Interfaces().map { ($0.address, $0.index) })
        }
        let interfaces = LocalAddresses.ipv4Interfaces()
        if let info, let match = interfaces.first(where: { $0.index == info.interfaceIndex }) {
            return match.address
        }
        if let lan = interfaces.first(where: { !$0.address.isLoopback }) {
            return lan.address
        }
        return NetAddress(ipv4: (127, 0, 0, 1), port: 0).host
    }

    /// A global address of the interface, else a unique-local one, else unspecified (a
    /// link-local address means nothing without its scope, which the client knows better).
    static func replyHostIPv6(interfaceIndex: Int, addresses: [(host: NetAddress.Host, index: Int)]) -> NetAddress.Host
    {
        let mine = addresses.filter { $0.index == interfaceIndex }.map { NetAddress(host: $0.host, port: 0) }
        let best = mine.first { $0.ipv6Class == .global } ?? mine.first { $0.ipv6Class == .uniqueLocal }
        return best?.host ?? .v6(0, 0)
    }
}
