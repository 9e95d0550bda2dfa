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

/// Carries TCP connections over one transport `Connection`, one stream each.
///
/// - Client side (`listen`): every TCP connection accepted on a local port opens a stream that
///   starts with a `StreamTargetHeader` (the device's TCP endpoint to connect). TCP bytes
///   follow at once; stream bytes reach TCP only after the device's `StreamTargetReply` said
///   ok. Any other reply resets the local TCP connection and is reported via `onTargetReply`.
/// - Device side (`serveIncomingStreams`): every stream the peer opens must deliver its header
///   within `headerTimeout` (else it is reset). Targets the `ForwardingPolicy` refuses, and
///   failed connects, are answered with a failure reply and FIN, never connected; otherwise the
///   TCP connection is made, the ok reply sent, and the stream bridged.
///
/// Not Sendable: it lives on the driver's event loop; create and call it there (e.g. in
/// `driver.onAccept`). Holds itself alive through the driver's event handler until the
/// connection closes.
package final class TunnelService {
    package let driver: EndpointDriver
    package let connection: Connection
    package var eventLoop: EventLoop { driver.eventLoop }
    /// Succeeds when the handshake completes, fails if the connection closes first.
    package var established: EventLoopFuture<Void> { establishedPromise.futureResult }
    /// Succeeds with the reason when the connection closes.
    package var closed: EventLoopFuture<ConnectionCloseReason> { closedPromise.futureResult }

    private let logger: Logger
    private var bridges: [StreamID: StreamBridge] = [:]
    /// Accepted TCP connections waiting for the handshake or for stream credit.
    private var waitingForStream: [StreamBridge] = []
    private var listeners: [Channel] = []
    /// Device side; nil until `serveIncomingStreams`.
    private var policy: ForwardingPolicy?
    private var headerTimeout: TimeAmount = .seconds(5)
    private var connectTimeout: TimeAmount = .seconds(10)
    /// Device side: streams whose header is still arriving, or that were answered with a
    /// failure and wait for the peer's reset.
    private var unbridged: [StreamID: UnbridgedStream] = [:]
    private let establishedPromise: EventLoopPromise<Void>
    private let closedPromise: EventLoopPromise<ConnectionCloseReason>
    private var isEstablished = false
    private var isClosed = false

    package init(driver: EndpointDriver, connection: Connection, logger: Logger = Logger(label: "t2u.tunnel")) {
        driver.eventLoop.preconditionInEventLoop()
        self.driver = driver
        self.connection = connection
        self.logger = logger
        self.establishedPromise = driver.eventLoop.makePromise()
        self.closedPromise = driver.eventLoop.makePromise()
        if connection.state == .established {
            isEstablished = true
            establishedPromise.succeed(())
        }
        driver.setEventHandler(for: connection) { [self] event in self.handle(event) }
    }

    /// Client side: the device's answer to each stream's target request (`.ok` included).
    package var onTargetReply: ((StreamTargetHeader, StreamTargetReply.Status) -> Void)?

    /// Path events of the connection, for whoever selects paths (the client's port mapping):
    /// a `probePath` probe was answered / went unanswered, or packets now flow elsewhere.
    package var onPathValidated: ((NetAddress) -> Void)?
    package var onPathProbeFailed: ((NetAddress) -> Void)?
    package var onPathChanged: ((NetAddress) -> Void)?

    /// Number of TCP connections currently bridged or waiting for a stream.
    package var activeBridgeCount: Int { bridges.count + waitingForStream.count }

    /// Device side: streams not bridged yet (header pending) or refused and not yet reset.
    package var unbridgedStreamCount: Int { unbridged.count }

    /// Bytes moved by the current bridges (for tests).
    package var bridgeStats: [(stream: StreamID, toStream: UInt64, toTCP: UInt64)] {
        bridges.map { ($0.key, $0.value.bytesToStream, $0.value.bytesToTCP) }
    }

    // MARK: client side

    /// Listens on a local TCP port; each accepted connection is tunnelled on a new stream that
    /// asks the device to connect `target`. Several listeners (targets) may share the service.
    package func listen(
        host: String = "127.0.0.1", port: Int = 0, target: StreamTargetHeader
    ) -> EventLoopFuture<SocketAddress> {
        // Accepted channels are on this loop too (the bootstrap's only one).
        let service = NIOLoopBound(self, eventLoop: eventLoop)
        return ServerBootstrap(group: eventLoop)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.backlog, value: 256)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelOption(.writeBufferWaterMark, value: Self.tcpWaterMark)
            .childChannelOption(.recvAllocator, value: Self.tcpRecvAllocator)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try service.value.accepted(channel, target: target)
                }
            }
            .bind(host: host, port: port)
            .assumeIsolated()
            .flatMapThrowing { channel in
                self.listeners.append(channel)
                guard let address = channel.localAddress else { throw ChannelError.unknownLocalAddress }
                return address
            }
            .nonisolated()
    }

    /// Client side: tunnels a TCP connection accepted elsewhere (a `TunnelPortListener` that
    /// outlives connections) on a new stream to `target`. The channel's reads resume here.
    package func adopt(_ channel: Channel, target: StreamTargetHeader) throws {
        eventLoop.preconditionInEventLoop()
        try accepted(channel, target: target)
        channel.setOption(.autoRead, value: true).whenFailure { _ in channel.close(promise: nil) }
    }

    private func accepted(_ channel: Channel, target: StreamTargetHeader) throws {
        let bridge = StreamBridge(stream: nil, connection: connection, driver: driver, logger: logger)
        bridge.sendFirst(target.encoded())
        bridge.awaitReply { [self] status in self.onTargetReply?(target, status) }
        try channel.pipeline.syncOperations.addHandler(bridge)
        guard !isClosed else {
            bridge.connectionClosed()
            return
        }
        bridge.onFinished = { [self] finished in
            self.waitingForStream.removeAll { $0 === finished }
            if let stream = finished.stream, self.bridges[stream] === finished { self.bridges[stream] = nil }
            self.openWaitingStreams()
        }
        waitingForStream.append(bridge)
        openWaitingStreams()
    }

    private func openWaitingStreams() {
        guard isEstablished, !isClosed else { return }
        while let bridge = waitingForStream.first {
            let stream: StreamID
            do {
                stream = try connection.openStream()
            } catch .streamLimitReached {
                return  // retried when a stream closes
            } catch {
                logger.debug("cannot open stream", metadata: ["error": "\(error)"])
                return
            }
            waitingForStream.removeFirst()
            bridges[stream] = bridge
            bridge.attach(stream: stream)
        }
        driver.requestStep()
    }

    // MARK: device side

    /// Answers streams the peer opens: reads each stream's target header, checks it against
    /// `policy`, connects TCP and bridges.
    package func serveIncomingStreams(
        policy: ForwardingPolicy, headerTimeout: TimeAmount = .seconds(5), connectTimeout: TimeAmount = .seconds(10)
    ) {
        eventLoop.preconditionInEventLoop()
        self.policy = policy
        self.headerTimeout = headerTimeout
        self.connectTimeout = connectTimeout
    }

    /// Reset code of a stream whose header was late or malformed, or whose refusal the peer
    /// did not acknowledge in time.
    package static let headerTimeoutErrorCode: UInt64 = 0x48_44_52  // "HDR"

    private struct UnbridgedStream {
        var header = ByteBuffer()
        /// The failure reply not yet accepted by the stream; the stream is finished after it.
        var reply: ByteBuffer?
        /// true once a reply was decided: the stream only waits for the peer's reset.
        var answered = false
        var deadline: Scheduled<Void>?
    }

    private func incoming(_ stream: StreamID) {
        guard policy != nil, !isClosed else {
            connection.reset(stream, errorCode: StreamBridge.tcpAbortedErrorCode)
            driver.requestStep()
            return
        }
        var pending = UnbridgedStream()
        pending.deadline = expiry(of: stream)
        unbridged[stream] = pending
        readHeader(stream)
    }

    private func expiry(of stream: StreamID) -> Scheduled<Void> {
        eventLoop.assumeIsolated().scheduleTask(in: headerTimeout) { [self] in
            guard self.unbridged.removeValue(forKey: stream) != nil else { return }
            self.logger.debug("stream header timeout", metadata: ["stream": "\(stream)"])
            self.connection.reset(stream, errorCode: Self.headerTimeoutErrorCode)
            self.driver.requestStep()
        }
    }

    /// Reads exactly the header's bytes (what follows is the TCP payload for the bridge).
    private func readHeader(_ stream: StreamID) {
        guard var pending = unbridged[stream], !pending.answered else { return }
        while true {
            let missing: Int
            do {
                switch try StreamTargetHeader.parse(&pending.header) {
                case .complete(let header):
                    forget(stream)
                    headerArrived(header, on: stream)
                    return
                case .incomplete(let count):
                    missing = count
                }
            } catch {
                logger.debug("malformed stream header", metadata: ["stream": "\(stream)", "error": "\(error)"])
                answer(stream, .badRequest)
                return
            }
            let result: StreamRead
            do {
                result = try connection.read(stream, maxBytes: missing)
            } catch {
                forget(stream)
                return
            }
            switch result {
            case .data(var bytes):
                pending.header.writeBuffer(&bytes)
                driver.requestStep()
            case .fin:
                // Ended before a whole header: nothing to connect.
                forget(stream)
                connection.reset(stream, errorCode: Self.headerTimeoutErrorCode)
                driver.requestStep()
                return
            case .wouldBlock:
                unbridged[stream]?.header = pending.header
                return
            }
        }
    }

    private func headerArrived(_ header: StreamTargetHeader, on stream: StreamID) {
        guard let policy, policy.allows(header) else {
            logger.info("stream target refused by policy", metadata: ["stream": "\(stream)", "target": "\(header)"])
            answer(stream, .refusedByPolicy)
            return
        }
        let address: SocketAddress
        switch header.host {
        case .deviceSelf: address = SocketAddress(NetAddress(ipv4: (127, 0, 0, 1), port: header.port))
        case .address(let host): address = SocketAddress(NetAddress(host: host, port: header.port))
        }
        let bridge = StreamBridge(stream: stream, connection: connection, driver: driver, logger: logger)
        bridge.sendFirst(StreamTargetReply(status: .ok).encoded(), whenConnected: true)
        bridges[stream] = bridge
        bridge.onFinished = { [self] finished in
            if self.bridges[stream] === finished { self.bridges[stream] = nil }
        }
        let handler = NIOLoopBound(bridge, eventLoop: eventLoop)
        ClientBootstrap(group: eventLoop)
            .channelOption(.allowRemoteHalfClosure, value: true)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelOption(.writeBufferWaterMark, value: Self.tcpWaterMark)
            .channelOption(.recvAllocator, value: Self.tcpRecvAllocator)
            .connectTimeout(connectTimeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(handler.value)
                }
            }
            .connect(to: address)
            .assumeIsolated()
            .whenFailure { [self] error in
                let stillOurs = self.bridges[stream] === bridge
                bridge.connectFailed(error)
                guard stillOurs, !self.isClosed else { return }
                let status = Self.replyStatus(for: error)
                self.logger.debug(
                    "stream target connect failed",
                    metadata: ["stream": "\(stream)", "target": "\(header)", "status": "\(status)"])
                self.answer(stream, status)
            }
    }

    /// Sends a failure reply and FIN; the stream then waits (bounded) for the peer's reset.
    private func answer(_ stream: StreamID, _ status: StreamTargetReply.Status) {
        unbridged[stream]?.deadline?.cancel()
        var pending = UnbridgedStream()
        pending.answered = true
        pending.reply = StreamTargetReply(status: status).encoded()
        pending.deadline = expiry(of: stream)
        unbridged[stream] = pending
        flushReply(stream)
    }

    private func flushReply(_ stream: StreamID) {
        guard var reply = unbridged[stream]?.reply else { return }
        do {
            let accepted = try connection.write(reply, to: stream)
            reply.moveReaderIndex(forwardBy: min(accepted, reply.readableBytes))
            if reply.readableBytes > 0 {
                unbridged[stream]?.reply = reply  // the rest on .streamWritable
            } else {
                unbridged[stream]?.reply = nil
                try connection.finish(stream)
            }
        } catch {
            forget(stream)
        }
        driver.requestStep()
    }

    private func forget(_ stream: StreamID) {
        unbridged.removeValue(forKey: stream)?.deadline?.cancel()
    }

    static func replyStatus(for error: Error) -> StreamTargetReply.Status {
        if let error = error as? IOError {
            switch error.errnoCode {
            case ECONNREFUSED: return .connectionRefused
            case EHOSTUNREACH, ENETUNREACH, EHOSTDOWN, ENETDOWN: return .unreachable
            case ETIMEDOUT: return .timedOut
            default: return .failed
            }
        }
        if let error = error as? ChannelError, case .connectTimeout = error { return .timedOut }
        return .failed
    }

    // MARK: events

    private func handle(_ event: ConnectionEvent) {
        switch event {
        case .handshakeCompleted:
            isEstablished = true
            establishedPromise.succeed(())
            openWaitingStreams()
        case .streamOpened(let stream):
            if bridges[stream] == nil && unbridged[stream] == nil { incoming(stream) }
        case .streamReadable(let stream):
            if let bridge = bridges[stream] { bridge.handle(event) } else { readHeader(stream) }
        case .streamWritable(let stream):
            if let bridge = bridges[stream] { bridge.handle(event) } else { flushReply(stream) }
        case .streamReset(let stream, _):
            bridges[stream]?.handle(event)
            forget(stream)
        case .streamClosed(let stream):
            bridges[stream]?.handle(event)
            forget(stream)
            openWaitingStreams()
        case .pathChanged(let address):
            logger.debug("path changed", metadata: ["address": "\(address)"])
            onPathChanged?(address)
        case .pathValidated(let address):
            onPathValidated?(address)
        case .pathProbeFailed(let address):
            onPathProbeFailed?(address)
        case .closed(let reason):
            logger.debug("connection closed", metadata: ["reason": "\(reason)"])
            isClosed = true
            let all = Array(bridges.values) + waitingForStream
            bridges.removeAll()
            waitingForStream.removeAll()
            for bridge in all { bridge.connectionClosed() }
            for pending in unbridged.values { pending.deadline?.cancel() }
            unbridged.removeAll()
            for listener in listeners { listener.close(promise: nil) }
            establishedPromise.fail(TunnelError.connectionClosed(reason))
            closedPromise.succeed(reason)
        }
    }

    /// Stops listening and closes the connection (bridged TCP connections are reset).
    package func close(errorCode: UInt64 = 0) -> EventLoopFuture<Void> {
        eventLoop.preconditionInEventLoop()
        for listener in listeners { listener.close(promise: nil) }
        if connection.state != .closed {
            connection.close(errorCode: errorCode, reason: "", now: EndpointDriver.now())
        }
        driver.requestStep()
        return eventLoop.makeSucceededVoidFuture()
    }

    /// Stream data is written to TCP until 1 MiB is queued; reading resumes below 256 KiB.
    static let tcpWaterMark = ChannelOptions.Types.WriteBufferWaterMark(low: 256 * 1024, high: 1024 * 1024)
    static let tcpRecvAllocator = AdaptiveRecvByteBufferAllocator(minimum: 4096, initial: 65_536, maximum: 256 * 1024)
}

package enum TunnelError: Error, Equatable, Sendable {
    case connectionClosed(ConnectionCloseReason)
}
