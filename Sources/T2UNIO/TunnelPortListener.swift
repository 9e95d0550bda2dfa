// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Logging
import NIOCore
import NIOPosix
import T2UCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The local TCP port has a live listener (another program, or another mapping).
package struct PortInUse: Error, Equatable, CustomStringConvertible {
    package var host: String
    package var port: Int

    package init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    package var description: String {
        "local TCP port \(port) on \(host) is in use by another listener; choose another local port (0 lets the system pick one)"
    }
}

/// A local TCP port whose accepted connections ride whichever `TunnelService` is current.
/// The port outlives the transport connections behind it: connections accepted while no link
/// is up are parked (not read) for at most `parkTimeout`, then handed to the next established
/// tunnel or closed. Confined to its event loop.
package final class TunnelPortListener {
    package let eventLoop: EventLoop
    package let target: StreamTargetHeader
    package let parkTimeout: TimeAmount
    package private(set) var localAddress: SocketAddress?
    private var serverChannel: Channel?
    private var tunnel: TunnelService?
    private var parked: [(channel: Channel, expiry: Scheduled<Void>)] = []
    /// Every accepted TCP connection still open (closed on `close`).
    private var children: [ObjectIdentifier: Channel] = [:]
    private var isClosed = false
    private let logger: Logger

    package init(
        eventLoop: EventLoop, target: StreamTargetHeader, parkTimeout: TimeAmount = .seconds(10),
        logger: Logger = Logger(label: "t2u.listener")
    ) {
        self.eventLoop = eventLoop
        self.target = target
        self.parkTimeout = parkTimeout
        self.logger = logger
    }

    /// Number of open TCP connections accepted on this port.
    package var openConnectionCount: Int { children.count }

    /// Binds `host:port` at once. SO_REUSEADDR lets a port be mapped again while connections
    /// of an earlier mapping sit in TIME_WAIT; Linux still refuses a port with a live listener,
    /// so a real conflict stays an error (`PortInUse`, naming the port).
    package func bind(host: String = "127.0.0.1", port: Int) -> EventLoopFuture<SocketAddress> {
        // Accepted channels are on this loop too (the bootstrap's only one).
        let listener = NIOLoopBound(self, eventLoop: eventLoop)
        return ServerBootstrap(group: eventLoop)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.backlog, value: 256)
            .childChannelOption(.autoRead, value: false)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelOption(.writeBufferWaterMark, value: TunnelService.tcpWaterMark)
            .childChannelOption(.recvAllocator, value: TunnelService.tcpRecvAllocator)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { listener.value.accepted(channel) }
            }
            .bind(host: host, port: port)
            .flatMapErrorThrowing { error in
                if let io = error as? IOError, io.errnoCode == EADDRINUSE { throw PortInUse(host: host, port: port) }
                throw error
            }
            .assumeIsolated()
            .flatMapThrowing { channel in
                self.serverChannel = channel
                guard let address = channel.localAddress else { throw ChannelError.unknownLocalAddress }
                self.localAddress = address
                return address
            }
            .nonisolated()
    }

    /// Points the port at an established tunnel (nil: links are down, park new connections).
    /// Parked connections are handed over at once.
    package func setTunnel(_ tunnel: TunnelService?) {
        eventLoop.preconditionInEventLoop()
        self.tunnel = tunnel
        guard let tunnel else { return }
        let waiting = parked
        parked.removeAll()
        for (channel, expiry) in waiting {
            expiry.cancel()
            hand(channel, to: tunnel)
        }
    }

    /// Closes the port and every TCP connection accepted on it.
    package func close() {
        eventLoop.preconditionInEventLoop()
        guard !isClosed else { return }
        isClosed = true
        serverChannel?.close(promise: nil)
        for (_, expiry) in parked { expiry.cancel() }
        parked.removeAll()
        for channel in children.values {
            channel.close(promise: nil)
        }
        children.removeAll()
        tunnel = nil
    }

    private func accepted(_ channel: Channel) {
        guard !isClosed else {
            channel.close(promise: nil)
            return
        }
        let key = ObjectIdentifier(channel)
        children[key] = channel
        channel.closeFuture.assumeIsolated().whenComplete { [self] _ in self.children[key] = nil }
        if let tunnel, tunnel.connection.state == .established {
            hand(channel, to: tunnel)
            return
        }
        let expiry = eventLoop.assumeIsolated().scheduleTask(in: parkTimeout) { [self] in
            self.parked.removeAll { $0.channel === channel }
            self.logger.debug("no link for a parked TCP connection in time; closing it")
            channel.close(promise: nil)
        }
        parked.append((channel, expiry))
    }

    private func hand(_ channel: Channel, to tunnel: TunnelService) {
        do {
            try tunnel.adopt(channel, target: target)
        } catch {
            logger.debug("cannot tunnel a TCP connection", metadata: ["error": "\(error)"])
            channel.close(promise: nil)
        }
    }
}
