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

/// Runs one sans-IO `TransportEndpoint` on one event loop: feeds it the datagrams of a
/// `UDPEndpoint`, drains its transmissions in batches after every I/O step, keeps a single
/// timer at its `nextDeadline()`, and hands connection events to registered handlers.
/// An agent's `SignalingClient` may share the socket (DESIGN: one UDP socket per agent, so the
/// server observes the very NAT mapping that peers will use); datagrams are demultiplexed by
/// their first byte.
///
/// Not Sendable: it lives on `eventLoop`, where everything but `init` must be called (TCP
/// channels of the bridge live on the same loop, so no hops on the data path). Code elsewhere
/// holds it in a `LoopOwned`.
package final class EndpointDriver: UDPDatagramSink {
    package typealias EventHandler = (ConnectionEvent) -> Void

    package let eventLoop: EventLoop
    package let endpoint: TransportEndpoint
    package private(set) var udp: UDPEndpoint?
    /// Signaling to the server over the same socket, if attached.
    package private(set) var signaling: SignalingClient?
    private var signalingHandler: ((SignalingClientEvent) -> Void)?
    /// The TCP/TLS fallback to the signaling server, if attached (`attachServerStream`).
    package private(set) var serverStream: ServerStream?
    /// Called for every connection a peer opens to us (device side).
    package var onAccept: ((Connection) -> Void)?
    /// Called for every traversal punch (first byte 0x10) with the socket it arrived on
    /// (0 main, else auxiliary); the transport never sees punches.
    package var onPunch: ((ByteBuffer, NetAddress, Int) -> Void)?
    /// Called when server traffic moves between UDP and the TCP/TLS fallback (true: now on the
    /// fallback), after the signaling client was told to retransmit.
    package var onServerCarrierChange: ((Bool) -> Void)?
    /// Called when the kernel refused a datagram to an address (already counted and logged
    /// by the socket), with the socket index (0 main): mark that candidate or path failed.
    /// The socket, the other destinations and the transport carry on regardless.
    package var onSendFailure: ((SendFailure, Int) -> Void)?
    /// Test seam: fails sends to the destinations it returns an errno for, on the main and
    /// every auxiliary socket, as if the kernel had refused them.
    package var sendFaultInjector: (@Sendable (NetAddress) -> CInt?)? {
        didSet {
            udp?.sendFaultInjector = sendFaultInjector
            for socket in auxiliary.values { socket.udp?.sendFaultInjector = sendFaultInjector }
        }
    }

    /// Auxiliary sockets by index (>= 1, never reused) and the route table: datagrams for an
    /// address that last reached us on an auxiliary socket leave through it
    /// (`EndpointDriver+Auxiliary.swift`).
    var auxiliary: [Int: AuxiliarySocket] = [:]
    var routes: [NetAddress: Int] = [:]
    var nextAuxiliaryIndex = 1
    var mainHost = "0.0.0.0"

    /// Bound on datagrams per drain so a fast sender cannot starve reads and timers.
    static let maxDatagramsPerDrain = 512
    /// Bound on the route table (senders seen on auxiliary sockets).
    static let maxRoutes = 4096
    /// Bound on events drained per connection per step.
    static let maxEventsPerStep = 4096

    private let logger: Logger
    private var scratch: ByteBuffer
    /// Connections with a handler. Tracked here, not read from `endpoint.connections`, because
    /// the endpoint forgets a closed connection before its final `.closed` event is read.
    private var registered: [(connection: Connection, handler: EventHandler)] = []
    private var timer: Scheduled<Void>?
    private var timerDeadline: NIODeadline?
    private var stepScheduled = false
    private var udpWritable = true
    private var closed = false

    package init(endpoint: TransportEndpoint, eventLoop: EventLoop, logger: Logger = Logger(label: "t2u.driver")) {
        self.endpoint = endpoint
        self.eventLoop = eventLoop
        self.logger = logger
        self.scratch = ByteBufferAllocator().buffer(capacity: 2048)
        endpoint.wallClockOrigin = Self.wallClockNanoseconds() &- Self.now().nanoseconds
    }

    /// Unix time in nanoseconds: anchors the handshake timestamps (TAI64N) to the wall clock
    /// once; they then advance with the monotonic clock, so a clock step never reorders them.
    static func wallClockNanoseconds() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec) &* 1_000_000_000 &+ Int64(spec.tv_nsec)
    }

    /// Binds the UDP socket and starts reading; returns the bound address.
    package func start(udp configuration: UDPEndpoint.Configuration = .init()) -> EventLoopFuture<SocketAddress> {
        eventLoop.preconditionInEventLoop()
        mainHost = configuration.host
        return UDPEndpoint.bind(on: eventLoop, configuration: configuration, sink: self, logger: logger)
            .assumeIsolated()
            .map { udp in
                self.udp = udp
                udp.sendFaultInjector = self.sendFaultInjector
                self.step()
                return udp.localAddress
            }
            .nonisolated()
    }

    /// The monotonic clock the core sees (`MonotonicClock`).
    @inline(__always)
    package static func now() -> Instant { MonotonicClock.now() }

    // MARK: connections

    /// Starts a handshake to `address` (client side).
    package func connect(
        to address: SocketAddress, remoteStaticKey: [UInt8], password: [UInt8]?,
        pathPolicy: PathPolicy = .any, localConnectionID: ConnectionID? = nil
    ) throws -> Connection {
        eventLoop.preconditionInEventLoop()
        guard let peer = NetAddress(address) else { throw ChannelError.badInterfaceAddressFamily }
        let connection = endpoint.connect(
            to: peer, remoteStaticKey: remoteStaticKey, password: password,
            pathPolicy: pathPolicy, localConnectionID: localConnectionID, now: Self.now())
        requestStep()
        return connection
    }

    /// Carries `client`'s signaling on this driver's socket; its events go to `handler`.
    package func attachSignaling(_ client: SignalingClient, _ handler: @escaping (SignalingClientEvent) -> Void) {
        eventLoop.preconditionInEventLoop()
        signaling = client
        signalingHandler = handler
        requestStep()
    }

    /// Adds the TCP/TLS fallback for the attached signaling client's server: used only while
    /// UDP to the server goes unanswered (`ServerPathSelector`). Call after `attachSignaling`.
    package func attachServerStream(_ options: ServerStreamOptions) throws {
        eventLoop.preconditionInEventLoop()
        guard let signaling else { preconditionFailure("attachServerStream needs the signaling client attached first") }
        let stream = try ServerStream(
            options: options, server: signaling.config.server, eventLoop: eventLoop, logger: logger)
        stream.onDatagram = { [unowned self] datagram, server in self.deliver(datagram, from: server) }
        stream.onChange = { [unowned self] in self.requestStep() }
        stream.onProbe = { [unowned self] server in self.probeServerOverUDP(server) }
        // Tries lost on the old way go again at once on the new one.
        stream.onCarrierChange = { [unowned self] overStream in
            self.signaling?.retransmitNow(now: Self.now())
            self.onServerCarrierChange?(overStream)
        }
        serverStream = stream
        requestStep()
    }

    /// Routes `connection`'s events to `handler` (replacing any previous one).
    package func setEventHandler(for connection: Connection, _ handler: @escaping EventHandler) {
        eventLoop.preconditionInEventLoop()
        if let index = registered.firstIndex(where: { $0.connection === connection }) {
            registered[index].handler = handler
        } else {
            registered.append((connection, handler))
        }
        requestStep()
    }

    package func removeEventHandler(for connection: Connection) {
        registered.removeAll { $0.connection === connection }
    }

    /// Schedules one step (events, transmissions, timer) at the end of this loop tick. Call it
    /// after acting on a connection (write, finish, read, reset); many calls coalesce.
    package func requestStep() {
        guard !stepScheduled, !closed else { return }
        stepScheduled = true
        eventLoop.assumeIsolated().execute { self.step() }
    }

    /// Closes every connection (telling peers), sends what is queued, closes the socket.
    package func close(errorCode: UInt64 = 0, reason: String = "") -> EventLoopFuture<Void> {
        eventLoop.preconditionInEventLoop()
        guard !closed else { return eventLoop.makeSucceededVoidFuture() }
        let now = Self.now()
        for connection in endpoint.connections where connection.state != .closed {
            connection.close(errorCode: errorCode, reason: reason, now: now)
        }
        step()
        closed = true
        timer?.cancel()
        timer = nil
        registered.removeAll()
        onAccept = nil
        signaling = nil
        signalingHandler = nil
        serverStream?.close()
        serverStream = nil
        onPunch = nil
        onSendFailure = nil
        let auxiliaryClosed = closeAllAuxiliary()
        let mainClosed = udp?.close() ?? eventLoop.makeSucceededVoidFuture()
        return mainClosed.and(auxiliaryClosed).map { _ in }
    }

    // MARK: UDPDatagramSink

    package func udpEndpoint(_ endpoint: UDPEndpoint, received datagram: ByteBuffer, from address: NetAddress) {
        guard !closed else { return }
        if let serverStream, address == serverStream.server { serverStream.receivedOverUDP(now: Self.now()) }
        deliver(datagram, from: address)
    }

    /// A datagram from the main socket or from the server's fallback stream.
    private func deliver(_ datagram: ByteBuffer, from address: NetAddress) {
        guard !closed else { return }
        let first = datagram.getInteger(at: datagram.readerIndex, as: UInt8.self)
        if let signaling, let first, SignalingMessage.isSignaling(firstByte: first) {
            signaling.receive(datagram, from: address, now: Self.now())
            return
        }
        if first == TraversalPunch.type, let onPunch {
            onPunch(datagram, address, 0)
            return
        }
        self.endpoint.receive(datagram, from: address, now: Self.now())
    }

    /// A datagram on auxiliary socket `index`: its sender is now reached through that socket.
    func auxiliaryReceived(_ datagram: ByteBuffer, from address: NetAddress, socket index: Int) {
        guard !closed, auxiliary[index] != nil else { return }
        // Bounded: any sender reaching an open auxiliary port adds an entry.
        if let known = routes[address] {
            if known != index { routes[address] = index }
        } else if routes.count < Self.maxRoutes {
            routes[address] = index
        }
        if datagram.getInteger(at: datagram.readerIndex, as: UInt8.self) == TraversalPunch.type {
            onPunch?(datagram, address, index)
            return
        }
        endpoint.receive(datagram, from: address, now: Self.now())
    }

    package func udpEndpointReadBatchComplete(_ endpoint: UDPEndpoint) {
        step()
    }

    package func udpEndpoint(_ endpoint: UDPEndpoint, writabilityChanged writable: Bool) {
        udpWritable = writable
        if writable { requestStep() }
    }

    package func udpEndpoint(_ endpoint: UDPEndpoint, sendFailed failure: SendFailure) {
        onSendFailure?(failure, 0)
    }

    // MARK: the I/O step

    /// Accepts, dispatches events (bridges move stream data), then sends and re-arms the timer.
    private func step() {
        stepScheduled = false
        guard !closed else { return }
        if let serverStream, let server = signaling?.config.server, server != serverStream.server {
            serverStream.retarget(server, now: Self.now())
        }
        while let accepted = endpoint.pollAccepted() {
            onAccept?(accepted)
        }
        dispatchEvents()
        drainTransmit()
        // Dispatching may have queued more (e.g. credit updates after reads); they go out on
        // the next step, which the bridge requests.
        armTimer()
    }

    private func dispatchEvents() {
        dispatchSignalingEvents()
        var finished: [Connection] = []
        for (connection, handler) in registered {
            var budget = Self.maxEventsPerStep
            while budget > 0, let event = connection.pollEvent() {
                budget -= 1
                handler(event)
                if case .closed = event { finished.append(connection) }
            }
            if budget == 0 { requestStep() }
        }
        // `.closed` is a connection's last event: drop its handler (and what it retains).
        for connection in finished { registered.removeAll { $0.connection === connection } }
    }

    private func dispatchSignalingEvents() {
        guard let signaling, let signalingHandler else { return }
        while let event = signaling.pollEvent() { signalingHandler(event) }
    }

    private func drainTransmit() {
        guard let udp, udpWritable else { return }
        let now = Self.now()
        var sent = 0
        if let signaling {
            while sent < Self.maxDatagramsPerDrain, let destination = signaling.pollTransmit(now: now, into: &scratch) {
                sent += 1
                if divertedToServerStream(
                    scratch, to: destination, awaitsAnswer: signaling.lastTransmitAwaitsAnswer, now: now)
                {
                    continue
                }
                udp.enqueue(scratch, to: destination)
            }
            // Writing a CONNECT reports it (`.connectSent`): the handshake that waits for it is
            // released here, so its initiation leaves right behind it in this same flush.
            dispatchSignalingEvents()
        }
        // Routes exist only while traversal uses auxiliary sockets: no lookup otherwise.
        let routed = !routes.isEmpty
        var flushAuxiliary: [AuxiliarySocket] = []
        while sent < Self.maxDatagramsPerDrain, let destination = endpoint.pollTransmit(now: now, into: &scratch) {
            sent += 1
            // Relayed packets: the peer, not the server, answers them, and pure ACKs get no answer.
            if divertedToServerStream(scratch, to: destination, awaitsAnswer: false, now: now) { continue }
            if routed, let index = routes[destination], let socket = auxiliary[index], let aux = socket.udp {
                aux.enqueue(scratch, to: destination)
                if !flushAuxiliary.contains(where: { $0 === socket }) { flushAuxiliary.append(socket) }
                continue
            }
            udp.enqueue(scratch, to: destination, awaitsAnswer: endpoint.lastTransmitAwaitsAnswer)
            if !udp.isWritable { break }
        }
        if sent > 0 { udp.flush() }
        serverStream?.flush()
        for socket in flushAuxiliary { socket.udp?.flush() }
        if sent == Self.maxDatagramsPerDrain { requestStep() }
    }

    /// Server-bound datagrams go down the fallback stream while it is the chosen path (true);
    /// otherwise they go over UDP, and a request the server answers starts the silence that
    /// opens the stream. (One-way datagrams did too: a path report or a relayed ACK, never
    /// answered, opened the fallback 1.5 s later on a healthy path.)
    private func divertedToServerStream(
        _ datagram: ByteBuffer, to destination: NetAddress, awaitsAnswer: Bool, now: Instant
    ) -> Bool {
        guard let serverStream, destination == serverStream.server else { return false }
        if serverStream.send(datagram) { return true }
        if awaitsAnswer { serverStream.sentOverUDP(now: now) }
        return false
    }

    /// One HELLO over UDP while on the stream: the server answers it statelessly (CHALLENGE,
    /// which the signaling client ignores), and that answer tells UDP works again.
    private func probeServerOverUDP(_ server: NetAddress) {
        guard let udp, let signaling else { return }
        var probe = ByteBufferAllocator().buffer(capacity: 64)
        let requestID = UInt32.random(in: 1...UInt32.max)
        SignalingMessage.hello(requestID: requestID, role: signaling.config.role).write(into: &probe)
        udp.enqueue(probe, to: server)
        udp.flush()
    }

    /// The earliest of the transport's, the signaling client's and the fallback's deadlines.
    private func nextDeadline() -> Instant? {
        // Called on every step: compared in place, no array built.
        var next = endpoint.nextDeadline()
        if let deadline = signaling?.nextDeadline() { next = next.map { min($0, deadline) } ?? deadline }
        if let deadline = serverStream?.nextDeadline() { next = next.map { min($0, deadline) } ?? deadline }
        return next
    }

    private func armTimer() {
        guard let next = nextDeadline() else {
            timer?.cancel()
            timer = nil
            timerDeadline = nil
            return
        }
        let deadline = NIODeadline.uptimeNanoseconds(UInt64(max(0, next.nanoseconds)))
        // An earlier timer already pending re-evaluates when it fires.
        if timer != nil, let current = timerDeadline, current <= deadline { return }
        timer?.cancel()
        timerDeadline = deadline
        timer = eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { self.timerFired() }
    }

    private func timerFired() {
        timer = nil
        timerDeadline = nil
        guard !closed else { return }
        let now = Self.now()
        if let next = endpoint.nextDeadline(), next <= now {
            endpoint.handleTimeout(now: now)
        }
        if let signaling, let next = signaling.nextDeadline(), next <= now {
            signaling.handleTimeout(now: now)
        }
        if let serverStream, let next = serverStream.nextDeadline(), next <= now {
            serverStream.handleTimeout(now: now)
        }
        step()
    }
}
