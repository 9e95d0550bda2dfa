// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Logging
import NIOCore
import NIOPosix
import T2UCore
import T2UNIO
import T2USim

/// A userspace UDP impairment proxy: clients send to `localAddress`, the proxy forwards to the
/// upstream address from one socket per client (so upstream replies map back to their client)
/// and relays the replies. Each direction goes through one `LinkModel` on the real clock: the
/// bottleneck is shared by all clients, like one physical path.
///
/// All state lives on one event loop; deliveries are scheduled there at the instants the link
/// model computes.
package final class ImpairmentProxy: Sendable {
    package struct Stats: Sendable, Equatable, CustomStringConvertible {
        package var clientToUpstream = LinkStats()
        package var upstreamToClient = LinkStats()
        /// Clients seen since start (each gets its own upstream socket; one idle for
        /// `clientIdleTimeout` gives its place up when a new client needs it).
        package var clients = 0
        /// Datagrams from new clients beyond `maxClients` active ones.
        package var droppedTooManyClients: UInt64 = 0
        /// Datagrams arriving at a client's upstream socket from anyone but the upstream.
        package var droppedForeign: UInt64 = 0
        /// Datagrams dropped because the upstream socket was not ready and its backlog was full.
        package var droppedBacklog: UInt64 = 0

        package init() {}

        package var description: String {
            "clients \(clients)\n  client->upstream: \(clientToUpstream)\n  upstream->client: \(upstreamToClient)"
                + "\n  dropped: too many clients \(droppedTooManyClients), foreign \(droppedForeign), backlog \(droppedBacklog)"
        }
    }

    /// The address clients send to (with the actual port when started on port 0).
    package let localAddress: SocketAddress
    package let upstreamAddress: SocketAddress
    private let core: LoopOwned<ProxyCore>

    private init(core: LoopOwned<ProxyCore>, localAddress: SocketAddress, upstream: SocketAddress) {
        self.core = core
        self.localAddress = localAddress
        self.upstreamAddress = upstream
    }

    package static func start(
        group: EventLoopGroup,
        listen: SocketAddress,
        upstream: SocketAddress,
        upstreamToClient: LinkConditions,
        clientToUpstream: LinkConditions,
        seed: UInt64,
        maxClients: Int = 64,
        maxDatagramSize: Int = 2048,
        clientIdleTimeout: Nanos = .seconds(60),
        logger: Logger = Logger(label: "t2u.impair")
    ) async throws -> ImpairmentProxy {
        let loop = group.next()
        let core = try await loop.submit {
            LoopOwned(
                ProxyCore(
                    loop: loop, upstream: upstream, clientToUpstream: clientToUpstream,
                    upstreamToClient: upstreamToClient, seed: seed, maxClients: maxClients,
                    maxDatagramSize: maxDatagramSize, clientIdleTimeout: clientIdleTimeout, logger: logger),
                eventLoop: loop)
        }.get()
        let channel = try await ProxyCore.bootstrap(on: loop, maxDatagramSize: maxDatagramSize) { channel in
            // Runs on the loop before the first read, so replies always find the channel.
            core.value.listenChannel = channel
            try channel.pipeline.syncOperations.addHandler(ClientSideHandler(core: core.value))
        }
        .bind(to: listen).get()
        guard let local = channel.localAddress else {
            try? await channel.close()
            throw ChannelError.unknownLocalAddress
        }
        logger.info("impairment proxy listening", metadata: ["listen": "\(local)", "upstream": "\(upstream)"])
        return ImpairmentProxy(core: core, localAddress: local, upstream: upstream)
    }

    /// A snapshot of the counters.
    package var stats: Stats {
        get async throws {
            try await core.submit { $0.stats }.get()
        }
    }

    /// Changes the impairments; packets already in flight keep their delivery times.
    package func setConditions(clientToUpstream: LinkConditions, upstreamToClient: LinkConditions) async throws {
        try await core.submit { core in
            core.toUpstream.conditions = clientToUpstream
            core.toClient.conditions = upstreamToClient
        }.get()
    }

    /// Closes all sockets; datagrams still in flight are discarded.
    package func stop() async throws {
        try await core.flatSubmit { core in
            let logger = core.logger
            return core.closeAll().map { logger.info("impairment proxy stopped") }
        }.get()
    }
}

/// The proxy's state. Not Sendable: it lives on `loop` (handlers, scheduled deliveries), and
/// `ImpairmentProxy` reaches it through `LoopOwned`.
final class ProxyCore {
    /// On the loop like the core.
    final class Client {
        let address: SocketAddress
        var channel: Channel?
        var lastActivity: Instant
        /// Datagrams due upstream before the client's socket finished binding.
        var backlog: [ByteBuffer] = []
        init(address: SocketAddress, now: Instant) {
            self.address = address
            self.lastActivity = now
        }
    }

    enum Direction { case toUpstream, toClient }

    let loop: EventLoop
    let upstream: SocketAddress
    let logger: Logger
    let maxClients: Int
    let maxDatagramSize: Int
    let clientIdleTimeout: Nanos
    var listenChannel: Channel?
    /// Opens a new client's upstream channel (with an `UpstreamSideHandler`); nil binds a UDP
    /// socket. Tests set it to run the handlers in `EmbeddedChannel`s.
    var openUpstream: ((Client) -> EventLoopFuture<Channel>)?
    var toUpstream: LinkModel
    var toClient: LinkModel
    private var clients: [SocketAddress: Client] = [:]
    /// Deliveries scheduled and not yet run, per direction. While any wait, a datagram that is
    /// already due is scheduled too rather than sent at once, so it cannot overtake them.
    private var pendingToUpstream = 0
    private var pendingToClient = 0
    private var stopped = false
    private var counters = ImpairmentProxy.Stats()
    private static let backlogLimit = 1024

    init(
        loop: EventLoop, upstream: SocketAddress, clientToUpstream: LinkConditions,
        upstreamToClient: LinkConditions, seed: UInt64, maxClients: Int, maxDatagramSize: Int,
        clientIdleTimeout: Nanos, logger: Logger
    ) {
        self.clientIdleTimeout = clientIdleTimeout
        self.loop = loop
        self.upstream = upstream
        self.maxClients = maxClients
        self.maxDatagramSize = maxDatagramSize
        self.logger = logger
        let seeds = SeededEntropy(seed: seed)
        toUpstream = LinkModel(conditions: clientToUpstream, entropy: SeededEntropy(seed: seeds.nextUInt64()))
        toClient = LinkModel(conditions: upstreamToClient, entropy: SeededEntropy(seed: seeds.nextUInt64()))
    }

    var stats: ImpairmentProxy.Stats {
        var s = counters
        s.clientToUpstream = toUpstream.stats
        s.upstreamToClient = toClient.stats
        return s
    }

    static func bootstrap(
        on loop: EventLoop, maxDatagramSize: Int,
        _ addHandler: @escaping @Sendable (Channel) throws -> Void
    ) -> DatagramBootstrap {
        DatagramBootstrap(group: loop)
            .channelOption(.socketOption(.so_reuseaddr), value: 1)
            .channelOption(.socketOption(.so_rcvbuf), value: 4 << 20)
            .channelOption(.socketOption(.so_sndbuf), value: 4 << 20)
            .channelOption(.maxMessagesPerRead, value: 16)
            .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: maxDatagramSize))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try addHandler(channel) }
            }
    }

    // MARK: Client -> upstream

    func fromClient(_ envelope: AddressedEnvelope<ByteBuffer>) {
        guard !stopped, let client = client(for: envelope.remoteAddress) else { return }
        let data = envelope.data
        let times = toUpstream.transmit(size: data.readableBytes, now: MonotonicClock.now())
        for time in times {
            deliver(at: time, direction: .toUpstream) { core in core.sendUpstream(data, for: client) }
        }
    }

    private func client(for address: SocketAddress) -> Client? {
        let now = MonotonicClock.now()
        if let known = clients[address] {
            known.lastActivity = now
            return known
        }
        if clients.count >= maxClients { evictIdleClients(now: now) }
        guard clients.count < maxClients else {
            counters.droppedTooManyClients &+= 1
            return nil
        }
        let client = Client(address: address, now: now)
        clients[address] = client
        counters.clients += 1
        logger.info("new client", metadata: ["client": "\(address)"])
        let opened: EventLoopFuture<Channel>
        if let openUpstream {
            opened = openUpstream(client)
        } else {
            let bindAddress: SocketAddress
            do {
                bindAddress = try Self.localBindAddress(toward: upstream)
            } catch {
                logger.error("cannot choose a local address toward upstream: \(error)")
                return client
            }
            let bound = NIOLoopBound((core: self, client: client), eventLoop: loop)
            opened = Self.bootstrap(on: loop, maxDatagramSize: maxDatagramSize) { channel in
                try channel.pipeline.syncOperations.addHandler(
                    UpstreamSideHandler(core: bound.value.core, client: bound.value.client))
            }
            .bind(to: bindAddress)
        }
        opened.assumeIsolated().whenComplete { [self] result in
            switch result {
            case .success(let channel):
                if stopped {
                    channel.close(promise: nil)
                    return
                }
                client.channel = channel
                for data in client.backlog { write(data, to: upstream, on: channel) }
                client.backlog.removeAll()
            case .failure(let error):
                logger.error(
                    "cannot open upstream socket for client", metadata: ["client": "\(address)", "error": "\(error)"])
            }
        }
        return client
    }

    /// Makes room for new clients by closing those that sent nothing for `clientIdleTimeout`.
    private func evictIdleClients(now: Instant) {
        for (address, client) in clients where now - client.lastActivity > clientIdleTimeout {
            client.channel?.close(promise: nil)
            client.backlog.removeAll()
            clients[address] = nil
            logger.info("idle client evicted", metadata: ["client": "\(address)"])
        }
    }

    /// Loopback upstreams are reached from loopback; anything else from the wildcard address.
    private static func localBindAddress(toward upstream: SocketAddress) throws -> SocketAddress {
        let ip = upstream.ipAddress ?? ""
        switch upstream.protocol {
        case .inet6:
            return try SocketAddress(ipAddress: ip == "::1" ? "::1" : "::", port: 0)
        default:
            return try SocketAddress(ipAddress: ip.hasPrefix("127.") ? ip : "0.0.0.0", port: 0)
        }
    }

    private func sendUpstream(_ data: ByteBuffer, for client: Client) {
        if let channel = client.channel {
            write(data, to: upstream, on: channel)
        } else if client.backlog.count < Self.backlogLimit {
            client.backlog.append(data)
        } else {
            counters.droppedBacklog &+= 1
        }
    }

    // MARK: Upstream -> client

    func fromUpstream(_ envelope: AddressedEnvelope<ByteBuffer>, for client: Client) {
        guard !stopped else { return }
        guard envelope.remoteAddress == upstream else {
            counters.droppedForeign &+= 1
            return
        }
        let data = envelope.data
        let times = toClient.transmit(size: data.readableBytes, now: MonotonicClock.now())
        for time in times {
            deliver(at: time, direction: .toClient) { core in
                if let listen = core.listenChannel { core.write(data, to: client.address, on: listen) }
            }
        }
    }

    // MARK: Delivery

    private func deliver(at time: Instant, direction: Direction, _ send: @escaping (ProxyCore) -> Void) {
        if pending(direction) == 0, time <= MonotonicClock.now() {
            send(self)
            return
        }
        adjustPending(direction, by: 1)
        let deadline = NIODeadline.uptimeNanoseconds(UInt64(max(time.nanoseconds, 0)))
        loop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            adjustPending(direction, by: -1)
            if !stopped { send(self) }
        }
    }

    private func pending(_ direction: Direction) -> Int {
        direction == .toUpstream ? pendingToUpstream : pendingToClient
    }

    private func adjustPending(_ direction: Direction, by delta: Int) {
        switch direction {
        case .toUpstream: pendingToUpstream += delta
        case .toClient: pendingToClient += delta
        }
    }

    private func write(_ data: ByteBuffer, to address: SocketAddress, on channel: Channel) {
        channel.writeAndFlush(AddressedEnvelope(remoteAddress: address, data: data), promise: nil)
    }

    func closeAll() -> EventLoopFuture<Void> {
        stopped = true
        var futures: [EventLoopFuture<Void>] = []
        if let listen = listenChannel { futures.append(listen.close()) }
        for client in clients.values {
            if let channel = client.channel { futures.append(channel.close()) }
            client.backlog.removeAll()
        }
        logger.debug("impairment proxy stats: \(stats)")
        return EventLoopFuture.andAllComplete(futures, on: loop)
    }
}

final class ClientSideHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    let core: ProxyCore
    init(core: ProxyCore) { self.core = core }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        core.fromClient(Self.unwrapInboundIn(data))
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // UDP errors (e.g. ICMP unreachable) concern one datagram; keep serving.
        core.logger.debug("client-side socket error: \(error)")
    }
}

final class UpstreamSideHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    let core: ProxyCore
    let client: ProxyCore.Client
    init(core: ProxyCore, client: ProxyCore.Client) {
        self.core = core
        self.client = client
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        core.fromUpstream(Self.unwrapInboundIn(data), for: client)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        core.logger.debug("upstream-side socket error: \(error)")
    }
}
