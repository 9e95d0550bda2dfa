// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Logging
import NIOCore
import NIOPosix
import NIOSSL
import T2UCore

/// An agent's TCP/TLS fallback to its server, driven by a `ServerPathSelector`: it opens the
/// stream when UDP to the server goes silent, carries the server-bound datagrams on it while it
/// is the chosen path, and closes it once UDP answers again. The stream looks like HTTPS: TLS
/// (ALPN http/1.1) around an HTTP/1.1 upgrade to `/t2u`, then 2-byte length-prefixed datagrams.
///
/// The TLS certificate is NOT verified: TLS here is camouflage for middleboxes only. The
/// server is authenticated inside, by t2u's own registration handshake against the pinned
/// server key, exactly as over UDP.
///
/// Confined to `eventLoop` (the `EndpointDriver`'s), like the driver that owns it.
package final class ServerStream {
    package struct Counters: Sendable, Equatable {
        package var connects: UInt64 = 0
        package var upgrades: UInt64 = 0
        package var datagramsSent: UInt64 = 0
        package var datagramsReceived: UInt64 = 0
        /// Datagrams dropped because the stream's send buffer was full (backpressure).
        package var datagramsDropped: UInt64 = 0
    }

    package let options: ServerStreamOptions
    package let eventLoop: EventLoop
    /// The server whose traffic this stream may carry (the signaling client's current one).
    package private(set) var server: NetAddress
    package private(set) var selector: ServerPathSelector
    package private(set) var counters = Counters()
    /// A datagram from the server came down the stream.
    var onDatagram: ((ByteBuffer, NetAddress) -> Void)?
    /// The selector changed its mind or has a new deadline: the owner steps.
    var onChange: (() -> Void)?
    /// Server traffic moved between UDP and the stream (true: now on the stream).
    var onCarrierChange: ((Bool) -> Void)?
    /// The selector wants a UDP probe sent to `server`.
    var onProbe: ((NetAddress) -> Void)?

    private let tls: NIOSSLContext
    private let logger: Logger
    private var channel: Channel?
    /// Bumped on every new or abandoned stream: late callbacks of an old one are ignored.
    private var generation: UInt64 = 0
    private var written = false

    init(options: ServerStreamOptions, server: NetAddress, eventLoop: EventLoop, logger: Logger) throws {
        self.tls = try Self.makeTLSContext()
        self.options = options
        self.server = server
        self.eventLoop = eventLoop
        self.logger = logger
        self.selector = ServerPathSelector(config: options.selector)
    }

    /// The agents' TLS: ALPN http/1.1 and no certificate verification (camouflage only).
    static func makeTLSContext() throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.certificateVerification = .none
        configuration.applicationProtocols = ["http/1.1"]
        return try NIOSSLContext(configuration: configuration)
    }

    /// Server traffic goes down the stream now (else over UDP).
    package var carriesServerTraffic: Bool { selector.carriesOverStream }

    /// Takes a datagram for the server if the stream is the chosen path; false: send it over
    /// UDP (and call `sentOverUDP`). A full stream drops the datagram (the transport above
    /// retransmits), so a stalled TCP connection never makes us buffer without bound.
    func send(_ datagram: ByteBuffer) -> Bool {
        guard selector.carriesOverStream else { return false }
        guard let channel, channel.isWritable else {
            counters.datagramsDropped &+= 1
            return true
        }
        var frame = channel.allocator.buffer(capacity: StreamFraming.prefixLength + datagram.readableBytes)
        StreamFraming.encode(datagram, into: &frame)
        channel.write(frame, promise: nil)
        counters.datagramsSent &+= 1
        written = true
        return true
    }

    func flush() {
        guard written else { return }
        written = false
        channel?.flush()
    }

    func sentOverUDP(now: Instant) {
        let before = selector.nextDeadline()
        selector.sentOverUDP(now: now)
        if selector.nextDeadline() != before { onChange?() }
    }

    func receivedOverUDP(now: Instant) {
        guard selector.udpUnansweredSince != nil || selector.stream != .idle else { return }
        let wasCarrying = selector.carriesOverStream
        selector.receivedOverUDP(now: now)
        act(now: now)
        if wasCarrying {
            logger.notice(
                "UDP to the server answers again: leaving the TCP fallback", metadata: ["server": "\(server)"])
            onCarrierChange?(false)
        }
    }

    func nextDeadline() -> Instant? { selector.nextDeadline() }

    func handleTimeout(now: Instant) {
        selector.handleTimeout(now: now)
        act(now: now)
    }

    /// The signaling client moved to another server: start over for it.
    func retarget(_ newServer: NetAddress, now: Instant) {
        guard newServer != server else { return }
        abandonChannel()
        server = newServer
        selector = ServerPathSelector(config: options.selector)
    }

    func close() {
        abandonChannel()
        onDatagram = nil
        onChange = nil
        onProbe = nil
        onCarrierChange = nil
    }

    private func act(now: Instant) {
        while let action = selector.pollAction() {
            switch action {
            case .openStream: open()
            case .closeStream: abandonChannel()
            case .probeUDP: onProbe?(server)
            }
        }
    }

    private func abandonChannel() {
        generation &+= 1
        channel?.close(promise: nil)
        channel = nil
    }

    private func open() {
        generation &+= 1
        let generation = self.generation
        counters.connects &+= 1
        let target = NetAddress(host: server.host, port: UInt16(truncatingIfNeeded: options.port))
        logger.notice("no answer from the server over UDP: trying TCP/TLS", metadata: ["server": "\(target)"])
        let bound = NIOLoopBound(self, eventLoop: eventLoop)
        let tls = self.tls
        let serverName = options.serverName
        let host = options.serverName ?? server.hostString
        let maxFrame = options.maxFrame
        ClientBootstrap(group: eventLoop)
            .connectTimeout(.seconds(5))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            // Backpressure: beyond this much unsent, datagrams are dropped rather than queued.
            .channelOption(.writeBufferWaterMark, value: .init(low: 64 << 10, high: 256 << 10))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let ssl = try NIOSSLClientHandler(context: tls, serverHostname: serverName)
                    try channel.pipeline.syncOperations.addHandler(ssl)
                    try channel.pipeline.syncOperations.addHandler(
                        ServerStreamHandler(owner: bound, generation: generation, host: host, maxFrame: maxFrame))
                }
            }
            .connect(to: SocketAddress(target))
            .whenComplete { result in
                let stream = bound.value
                switch result {
                case .success(let channel):
                    if generation == stream.generation { stream.channel = channel } else { channel.close(promise: nil) }
                case .failure(let error):
                    stream.streamFailed(generation: generation, reason: "\(error)")
                }
            }
    }

    // MARK: called by ServerStreamHandler

    func streamUpgraded(generation: UInt64) {
        guard generation == self.generation else { return }
        counters.upgrades &+= 1
        let now = EndpointDriver.now()
        selector.streamUp(now: now)
        act(now: now)
        if selector.carriesOverStream {
            logger.notice(
                "server traffic now goes over TCP/TLS (UDP to the server is silent)", metadata: ["server": "\(server)"])
            onCarrierChange?(true)
        }
        onChange?()
    }

    func received(_ datagram: ByteBuffer, generation: UInt64) {
        guard generation == self.generation else { return }
        counters.datagramsReceived &+= 1
        onDatagram?(datagram, server)
    }

    func readBatchComplete(generation: UInt64) {
        guard generation == self.generation else { return }
        onChange?()
    }

    func streamFailed(generation: UInt64, reason: String) {
        guard generation == self.generation else { return }
        logger.warning(
            "TCP/TLS stream to the server failed",
            metadata: ["server": "\(server)", "port": "\(options.port)", "error": "\(reason)"])
        lost()
    }

    func streamClosed(generation: UInt64) {
        guard generation == self.generation else { return }
        logger.notice("TCP/TLS stream to the server closed", metadata: ["server": "\(server)"])
        lost()
    }

    private func lost() {
        let wasCarrying = selector.carriesOverStream
        abandonChannel()
        selector.streamDown(now: EndpointDriver.now())
        if wasCarrying { onCarrierChange?(false) }
        onChange?()
    }
}
