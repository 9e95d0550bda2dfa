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

/// The NIO shell of `GatewayMapper`: maps one UDP port of this host at the LAN's gateway (PCP,
/// NAT-PMP, UPnP-IGD), renews it, and deletes it on `stop`. One UDP socket talks to the
/// gateway's port 5351 and sends the SSDP search (answers come back to it); HTTP goes through
/// `IGDHTTPClient`. Sends are made on the descriptor directly (as `UDPEndpoint` does), so a
/// refused send fails that datagram only, never the socket.
package final class GatewayPortMapper: Sendable {
    package let eventLoop: EventLoop
    private let channel: Channel
    private let descriptor: CInt
    private let state: NIOLoopBoundBox<State>
    private let logger: Logger

    final class State {
        var mapper: GatewayMapper
        var timer: Scheduled<Void>?
        var onChange: (GatewayMapping?) -> Void
        var pendingHTTP: [EventLoopFuture<Void>] = []
        /// "No mapping" is said at info once; the retries every few minutes at debug.
        var unavailableLogged = false

        init(mapper: GatewayMapper, onChange: @escaping (GatewayMapping?) -> Void) {
            self.mapper = mapper
            self.onChange = onChange
        }
    }

    /// `start` is the way in; internal only so tests can put a shell on an `EmbeddedChannel`.
    init(
        eventLoop: EventLoop, channel: Channel, descriptor: CInt, state: NIOLoopBoundBox<State>, logger: Logger
    ) {
        self.eventLoop = eventLoop
        self.channel = channel
        self.descriptor = descriptor
        self.state = state
        self.logger = logger
    }

    /// Starts mapping `internalPort`. `onChange` runs on `eventLoop` with each new external
    /// address (nil: the mapping is gone). Fails only when no local socket can be opened.
    package static func start(
        internalPort: UInt16, on eventLoop: EventLoop, logger: Logger,
        config: GatewayMapperConfig = .init(),
        onChange: @escaping @Sendable (GatewayMapping?) -> Void
    ) -> EventLoopFuture<GatewayPortMapper> {
        let gateway = DefaultGateway.ipv4()
        // Our address on the gateway's LAN: the interface whose subnet holds the gateway, or
        // the first non-loopback IPv4 address when there is no gateway (UPnP only).
        let subnets = LocalAddresses.subnets()
        var client: UInt32?
        if let gateway, let subnet = subnets.first(where: { $0.contains(gateway) }), case .v4(let v) = subnet.host {
            client = v
        }
        if client == nil,
            let first = LocalAddresses.ipv4Interfaces().first(where: { !$0.address.isLoopback }),
            case .v4(let v) = first.address
        {
            client = v
        }
        guard let client else {
            return eventLoop.makeFailedFuture(GatewayHTTPFailure("no IPv4 address on this host: no port mapping"))
        }
        let descriptor: CInt
        do {
            descriptor = try DatagramSocket.bound(host: "0.0.0.0", port: 0)
        } catch {
            return eventLoop.makeFailedFuture(error)
        }
        let gatewayAddress = gateway.map { NetAddress(host: $0, port: NATPMPMessage.port) }
        return DatagramBootstrap(group: eventLoop)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(Receiver()) }
            }
            .withBoundSocket(descriptor)
            .flatMapThrowing { channel in
                let mapper = GatewayMapper(
                    internalPort: internalPort, client: client, gateway: gatewayAddress,
                    entropy: SystemEntropy(), config: config)
                let state = NIOLoopBoundBox(State(mapper: mapper, onChange: onChange), eventLoop: eventLoop)
                let shell = GatewayPortMapper(
                    eventLoop: eventLoop, channel: channel, descriptor: descriptor, state: state, logger: logger)
                try channel.pipeline.syncOperations.handler(type: Receiver.self).shell = shell
                logger.debug(
                    "port mapping started",
                    metadata: [
                        "port": "\(internalPort)",
                        "gateway": "\(gateway.map { NetAddress(host: $0, port: 0).hostString } ?? "none")",
                        "client": "\(NetAddress(host: .v4(client), port: 0).hostString)",
                    ])
                shell.carryOut(state.value.mapper.start(now: EndpointDriver.now()))
                return shell
            }
    }

    /// The mapping in force (on the loop).
    package var mapping: GatewayMapping? {
        eventLoop.preconditionInEventLoop()
        return state.value.mapper.active
    }

    /// The protocols the LAN answered in so far, and whether nothing is pending (on the loop).
    package var probe: (answered: Set<GatewayProtocol>, settled: Bool) {
        eventLoop.preconditionInEventLoop()
        return (state.value.mapper.answered, state.value.mapper.isSettled)
    }

    /// Deletes the mapping (waits for the IGD's answer up to `grace`) and closes the socket.
    package func stop(grace: TimeAmount = .seconds(2)) -> EventLoopFuture<Void> {
        eventLoop.flatSubmit { [self] in
            let box = state.value
            box.timer?.cancel()
            box.timer = nil
            box.pendingHTTP = []
            carryOut(box.mapper.stop(), httpTimeout: grace)
            let pending = box.pendingHTTP
            return EventLoopFuture.whenAllComplete(pending, on: eventLoop).flatMap { _ in
                self.channel.close()
            }.recover { _ in }
        }
    }

    // MARK: loop-confined

    private func carryOut(_ actions: [GatewayMapperAction], httpTimeout: TimeAmount = .seconds(5)) {
        let box = state.value
        for action in actions {
            switch action {
            case .sendToGateway(let bytes):
                if let gateway = box.mapper.gateway { send(bytes, to: gateway) }
            case .sendSSDP(let bytes):
                send(bytes, to: SSDPMessage.multicastAddress)
            case .http(let id, let to, let request):
                let exchange = IGDHTTPClient.exchange(to: to, request: request, on: eventLoop, timeout: httpTimeout)
                box.pendingHTTP.append(exchange.map { _ in }.recover { _ in })
                exchange.whenComplete { [self] result in
                    let mapped = result.mapError { $0 as? GatewayHTTPFailure ?? GatewayHTTPFailure("\($0)") }
                    carryOut(state.value.mapper.receiveHTTP(id: id, mapped, now: EndpointDriver.now()))
                }
            case .mapped(let mapping):
                logger.info(
                    "port mapping granted",
                    metadata: [
                        "protocol": "\(mapping.via.rawValue)", "external": "\(mapping.external)",
                        "lifetime": "\(mapping.lifetimeSeconds == 0 ? "permanent" : "\(mapping.lifetimeSeconds) s")",
                    ])
                box.onChange(mapping)
            case .unmapped(let why):
                logger.info("port mapping lost", metadata: ["reason": "\(why)"])
                box.onChange(nil)
            case .unavailable(let why):
                logger.log(
                    level: box.unavailableLogged ? .debug : .info,
                    "no port mapping: no gateway protocol granted one; retrying later",
                    metadata: ["reason": "\(why)"])
                box.unavailableLogged = true
            }
        }
        rearm()
    }

    private func rearm() {
        let box = state.value
        box.timer?.cancel()
        box.timer = nil
        guard let deadline = box.mapper.nextDeadline() else { return }
        let delay = max(Int64(0), (deadline - EndpointDriver.now()).value)
        box.timer = eventLoop.scheduleTask(in: .nanoseconds(delay)) { [self] in
            state.value.timer = nil
            carryOut(state.value.mapper.poll(now: EndpointDriver.now()))
        }
    }

    private func send(_ bytes: [UInt8], to destination: NetAddress) {
        guard channel.isActive else { return }
        let outcome = DatagramSocket.send(
            ByteBuffer(bytes: bytes), to: SocketAddress(destination), segmentSize: nil, on: descriptor)
        if case .failed(let code) = outcome {
            logger.debug("port mapping datagram not sent", metadata: ["to": "\(destination)", "errno": "\(code)"])
        }
    }

    fileprivate func received(_ bytes: [UInt8], from source: NetAddress) {
        let box = state.value
        let now = EndpointDriver.now()
        do {
            if let gateway = box.mapper.gateway, source == gateway {
                carryOut(try box.mapper.receiveGateway(bytes, from: source, now: now))
            } else {
                carryOut(try box.mapper.receiveSSDP(bytes, from: source, now: now))
            }
        } catch {
            logger.debug("port mapping answer ignored", metadata: ["from": "\(source)", "reason": "\(error)"])
        }
    }

    /// Hands datagrams to the shell (set right after the channel is up).
    final class Receiver: ChannelInboundHandler {
        typealias InboundIn = AddressedEnvelope<ByteBuffer>
        var shell: GatewayPortMapper?

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let envelope = unwrapInboundIn(data)
            guard let shell, let source = NetAddress(envelope.remoteAddress),
                envelope.data.readableBytes <= Swift.max(PCPMessage.maxLength, SSDPMessage.maxLength)
            else { return }
            shell.received(Array(envelope.data.readableBytesView), from: source)
        }

        func errorCaught(context: ChannelHandlerContext, error: Error) {
            // A read error (e.g. ICMP port unreachable from a gateway without PCP) is this
            // datagram's alone; the socket stays open.
        }
    }
}
