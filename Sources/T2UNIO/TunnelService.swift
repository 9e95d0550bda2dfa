import Logging
import NIOCore
import NIOPosix
import T2UCore

/// Carries TCP connections over one transport `Connection`, one stream each.
///
/// - Client side (`listen`): every TCP connection accepted on a local port opens a stream.
/// - Device side (`serveIncomingStreams`): every stream the peer opens becomes a TCP
///   connection to the address `target` picks for it (pluggable: a per-stream target header
///   can replace the fixed choice later).
///
/// Confined to the driver's event loop: create it there (e.g. in `driver.onAccept` or an
/// `eventLoop.submit`). Holds itself alive through the driver's event handler until the
/// connection closes.
public final class TunnelService: @unchecked Sendable {
    public typealias TargetChooser = (StreamID) -> SocketAddress

    public let driver: EndpointDriver
    public let connection: Connection
    public var eventLoop: EventLoop { driver.eventLoop }
    /// Succeeds when the handshake completes, fails if the connection closes first.
    public var established: EventLoopFuture<Void> { establishedPromise.futureResult }
    /// Succeeds with the reason when the connection closes.
    public var closed: EventLoopFuture<ConnectionCloseReason> { closedPromise.futureResult }

    private let logger: Logger
    private var bridges: [StreamID: StreamBridge] = [:]
    /// Accepted TCP connections waiting for the handshake or for stream credit.
    private var waitingForStream: [StreamBridge] = []
    private var target: TargetChooser?
    private var listener: Channel?
    private let establishedPromise: EventLoopPromise<Void>
    private let closedPromise: EventLoopPromise<ConnectionCloseReason>
    private var isEstablished = false
    private var isClosed = false

    public init(driver: EndpointDriver, connection: Connection, logger: Logger = Logger(label: "t2u.tunnel")) {
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

    /// Number of TCP connections currently bridged or waiting for a stream.
    public var activeBridgeCount: Int { bridges.count + waitingForStream.count }

    /// Bytes moved by the current bridges (for tests).
    public var bridgeStats: [(stream: StreamID, toStream: UInt64, toTCP: UInt64)] {
        bridges.map { ($0.key, $0.value.bytesToStream, $0.value.bytesToTCP) }
    }

    // MARK: client side

    /// Listens on a local TCP port; each accepted connection is tunnelled on a new stream.
    public func listen(host: String = "127.0.0.1", port: Int = 0) -> EventLoopFuture<SocketAddress> {
        ServerBootstrap(group: eventLoop)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.backlog, value: 256)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.writeBufferWaterMark, value: Self.tcpWaterMark)
            .childChannelOption(.recvAllocator, value: Self.tcpRecvAllocator)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try self.accepted(channel)
                }
            }
            .bind(host: host, port: port)
            .flatMapThrowing { channel in
                self.listener = channel
                guard let address = channel.localAddress else { throw ChannelError.unknownLocalAddress }
                return address
            }
    }

    private func accepted(_ channel: Channel) throws {
        let bridge = StreamBridge(stream: nil, connection: connection, driver: driver, logger: logger)
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

    /// Answers streams the peer opens by connecting TCP to `target(stream)`.
    public func serveIncomingStreams(target: @escaping TargetChooser) {
        eventLoop.preconditionInEventLoop()
        self.target = target
    }

    private func incoming(_ stream: StreamID) {
        guard let target else {
            connection.reset(stream, errorCode: StreamBridge.tcpAbortedErrorCode)
            driver.requestStep()
            return
        }
        let bridge = StreamBridge(stream: stream, connection: connection, driver: driver, logger: logger)
        bridges[stream] = bridge
        bridge.onFinished = { [self] finished in
            if self.bridges[stream] === finished { self.bridges[stream] = nil }
        }
        ClientBootstrap(group: eventLoop)
            .channelOption(.allowRemoteHalfClosure, value: true)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelOption(.writeBufferWaterMark, value: Self.tcpWaterMark)
            .channelOption(.recvAllocator, value: Self.tcpRecvAllocator)
            .connectTimeout(.seconds(10))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(bridge)
                }
            }
            .connect(to: target(stream))
            .whenFailure { error in bridge.connectFailed(error) }
    }

    // MARK: events

    private func handle(_ event: ConnectionEvent) {
        switch event {
        case .handshakeCompleted:
            isEstablished = true
            establishedPromise.succeed(())
            openWaitingStreams()
        case .streamOpened(let stream):
            if bridges[stream] == nil { incoming(stream) }
        case .streamReadable(let stream), .streamWritable(let stream):
            bridges[stream]?.handle(event)
        case .streamReset(let stream, _):
            bridges[stream]?.handle(event)
        case .streamClosed(let stream):
            bridges[stream]?.handle(event)
            openWaitingStreams()
        case .pathChanged(let address):
            logger.debug("path changed", metadata: ["address": "\(address)"])
        case .closed(let reason):
            logger.debug("connection closed", metadata: ["reason": "\(reason)"])
            isClosed = true
            let all = Array(bridges.values) + waitingForStream
            bridges.removeAll()
            waitingForStream.removeAll()
            for bridge in all { bridge.connectionClosed() }
            listener?.close(promise: nil)
            establishedPromise.fail(TunnelError.connectionClosed(reason))
            closedPromise.succeed(reason)
        }
    }

    /// Stops listening and closes the connection (bridged TCP connections are reset).
    public func close(errorCode: UInt64 = 0) -> EventLoopFuture<Void> {
        eventLoop.submit {
            self.listener?.close(promise: nil)
            if self.connection.state != .closed {
                self.connection.close(errorCode: errorCode, reason: "", now: EndpointDriver.now())
            }
            self.driver.requestStep()
        }
    }

    /// Stream data is written to TCP until 1 MiB is queued; reading resumes below 256 KiB.
    static let tcpWaterMark = ChannelOptions.Types.WriteBufferWaterMark(low: 256 * 1024, high: 1024 * 1024)
    static let tcpRecvAllocator = AdaptiveRecvByteBufferAllocator(minimum: 4096, initial: 65_536, maximum: 256 * 1024)
}

public enum TunnelError: Error, Equatable, Sendable {
    case connectionClosed(ConnectionCloseReason)
}
