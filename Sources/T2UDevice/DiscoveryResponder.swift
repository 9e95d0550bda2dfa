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
/// own port, shared with other devices on the host (SO_REUSEADDR/SO_REUSEPORT), joined to the
/// multicast group where possible; unicast queries to the port are answered as well.
enum DiscoveryResponder {
    /// Binds and joins; failing to join a group is logged, not fatal (unicast still works).
    static func start(
        group: EventLoopGroup, port: UInt16, multicastGroup: String?, uuid: String, agentPort: UInt16, logger: Logger
    ) async throws -> Channel {
        let channel = try await DatagramBootstrap(group: group)
            .channelOption(.socketOption(.so_reuseaddr), value: 1)
            .channelOption(.socketOption(NIOBSDSocket.Option(rawValue: SO_REUSEPORT)), value: 1)
            .channelOption(.receivePacketInfo, value: true)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        DiscoveryHandler(uuid: uuid, agentPort: agentPort, logger: logger))
                }
            }
            .bind(host: "0.0.0.0", port: Int(port)).get()
        if let multicastGroup {
            await join(channel: channel, group: multicastGroup, port: port, logger: logger)
        }
        return channel
    }

    private static func join(channel: Channel, group: String, port: UInt16, logger: Logger) async {
        guard let multicast = channel as? MulticastChannel,
              let groupAddress = try? SocketAddress(ipAddress: group, port: Int(port)) else {
            logger.warning("discovery: cannot join multicast group", metadata: ["group": "\(group)"])
            return
        }
        var joined = 0
        for interface in LocalAddresses.ipv4Interfaces() where interface.device.multicastSupported {
            do {
                try await multicast.joinGroup(groupAddress, device: interface.device).get()
                joined += 1
            } catch {
                logger.info("discovery: cannot join multicast group on interface",
                            metadata: ["group": "\(group)", "interface": "\(interface.device.name)", "error": "\(error)"])
            }
        }
        if joined == 0 {
            logger.warning("discovery: multicast group not joined on any interface; answering unicast only",
                           metadata: ["group": "\(group)"])
        }
    }
}

/// Parses SEARCH datagrams and replies to their sender. Anything else is dropped.
final class DiscoveryHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    typealias OutboundOut = AddressedEnvelope<ByteBuffer>

    let uuid: String
    let agentPort: UInt16
    let logger: Logger

    init(uuid: String, agentPort: UInt16, logger: Logger) {
        self.uuid = uuid
        self.agentPort = agentPort
        self.logger = logger
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        guard case .search(let requestID, let wanted)? = try? SignalingMessage.parse(envelope.data) else { return }
        if let wanted, wanted != uuid { return }
        let reply = SignalingMessage.searchReply(
            requestID: requestID, uuid: uuid,
            address: NetAddress(host: Self.localHost(for: envelope.metadata?.packetInfo), port: agentPort))
        var buffer = context.channel.allocator.buffer(capacity: 96)
        reply.write(into: &buffer)
        context.writeAndFlush(wrapOutboundOut(AddressedEnvelope(remoteAddress: envelope.remoteAddress, data: buffer)), promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // ICMP errors from earlier replies and the like: keep serving.
        logger.debug("discovery socket error", metadata: ["error": "\(error)"])
    }

    /// The address the query arrived on; for multicast (or when unknown) that interface's
    /// address, else the first LAN address.
    static func localHost(for info: NIOPacketInfo?) -> NetAddress.Host {
        if let info, let destination = NetAddress(info.destinationAddress),
           !LocalAddresses.isUnspecifiedOrMulticast(destination.host) {
            return destination.host
        }
        let interfaces = LocalAddresses.ipv4Interfaces()
        if let info, let match = interfaces.first(where: { $0.index == info.interfaceIndex }) {
            return match.address
        }
        if let lan = interfaces.first(where: { !LocalAddresses.isLoopback($0.address) }) {
            return lan.address
        }
        return NetAddress(ipv4: (127, 0, 0, 1), port: 0).host
    }
}
