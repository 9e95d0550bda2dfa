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

/// Receives what a `UDPEndpoint` reads. Called on the endpoint's event loop.
package protocol UDPDatagramSink: AnyObject {
    /// One datagram (GRO runs are already split back into their segments).
    func udpEndpoint(_ endpoint: UDPEndpoint, received datagram: ByteBuffer, from address: NetAddress)
    /// The socket has no more to read for now: a good moment to answer with a batch of writes.
    func udpEndpointReadBatchComplete(_ endpoint: UDPEndpoint)
    /// NIO's pending-write queue crossed a watermark: stop producing datagrams while false.
    func udpEndpoint(_ endpoint: UDPEndpoint, writabilityChanged writable: Bool)
    /// The kernel refused a send to one destination (already counted and logged): the caller
    /// may mark that candidate or path failed. Nothing else is affected.
    func udpEndpoint(_ endpoint: UDPEndpoint, sendFailed failure: SendFailure)
}

extension UDPDatagramSink {
    package func udpEndpoint(_ endpoint: UDPEndpoint, sendFailed failure: SendFailure) {}
}

/// One UDP socket on one event loop with batched I/O: `recvmmsg` vector reads (plus GRO where
/// available) in, and `sendmsg` per run (GSO for runs of equal-size datagrams to one destination)
/// out. Writes are staged with `enqueue` and leave the process on `flush`, once per loop tick.
///
/// Sends are `sendmsg` calls on the socket itself (`DatagramSocket`): a refused send costs
/// that datagram (or GSO run) only, is counted per errno, logged (rate-limited) and reported
/// to the sink. Only what the kernel refuses with EAGAIN goes through NIO's write queue, which
/// waits for the socket to drain (and drives the writability watermarks).
///
/// Not Sendable: it lives on `eventLoop`, where every method (`bind` included) must be called.
package final class UDPEndpoint {
    package struct Configuration: Sendable {
        /// "::" binds one dual-stack socket (IPv6 and, as mapped addresses, IPv4); it falls
        /// back to "0.0.0.0" on a host without IPv6 (`DatagramSocket.bound`).
        package var host: String = "127.0.0.1"
        package var port: Int = 0
        /// Datagrams per `recvmmsg`.
        package var vectorReadMessageCount: Int = 64
        /// SO_RCVBUF / SO_SNDBUF request (the kernel caps it at rmem_max / wmem_max).
        package var socketBufferSize: Int = 8 << 20
        /// Largest datagram we expect to receive without GRO.
        package var maxDatagramSize: Int = 2048
        package var segmentationOffload: OffloadMode = .auto
        package var receiveOffload: OffloadMode = .auto
        /// Upper bound on datagrams per GSO send (the kernel's UDP_MAX_SEGMENTS is 64 or more).
        package var maxSegmentsPerSend: Int = 64
        /// Hold reads back briefly while datagrams arrive one at a time but often
        /// (`ReceiveCoalescing`: at most 3 ms, never for isolated datagrams).
        package var coalesceReceives = true

        package init() {}
    }

    /// Counters for tests and the benchmark.
    package struct Counters: Sendable, Equatable {
        package var datagramsSent: UInt64 = 0
        /// Envelopes handed to NIO (one per GSO run, one per datagram without GSO).
        package var sendOperations: UInt64 = 0
        package var datagramsReceived: UInt64 = 0
        /// Envelopes NIO delivered (one per GRO run).
        package var receiveOperations: UInt64 = 0
        /// Sends the kernel refused (one per datagram or GSO run), in total and by errno.
        package var sendErrors: UInt64 = 0
        package var sendErrorsByErrno: [CInt: UInt64] = [:]
        /// Datagrams lost to refused sends.
        package var datagramsDropped: UInt64 = 0
        /// Errors NIO reported from reads (ICMP unreachable surfacing as ECONNREFUSED).
        package var socketErrors: UInt64 = 0
        /// Sends that found the socket buffer full and went through NIO's queue.
        package var deferredSends: UInt64 = 0

        package init() {}
    }

    package let eventLoop: EventLoop
    package let localAddress: SocketAddress
    /// GSO / GRO in use on this socket (requested and supported).
    package private(set) var offloads: UDPOffloadSupport
    package private(set) var counters = Counters()
    /// Effective kernel buffer sizes (Linux reports twice the usable amount).
    package let receiveBufferSize: Int
    package let sendBufferSize: Int

    let channel: Channel
    private let descriptor: CInt
    private let sink: WeakSink
    private let logger: Logger
    private var failureLog = SendFailureLog()
    /// Runs handed to NIO's queue and not yet written: later runs queue behind them (order).
    private var queuedInNIO = 0
    private var closing = false
    /// Test seam: an errno to fail sends to a destination with, as if the kernel had refused
    /// (EAGAIN: as if the socket buffer were full).
    package var sendFaultInjector: (@Sendable (NetAddress) -> CInt?)?
    private var batch: DatagramBatcher
    private var addressCache = SocketAddressCache()
    /// Told of every send that may be answered: a held read is released at once
    /// (`UDPEndpointHandler`).
    fileprivate weak var readScheduler: UDPEndpointHandler?

    /// `bind` is the way in; internal only so tests can put an endpoint on an `EmbeddedChannel`.
    init(
        channel: Channel, descriptor: CInt, sink: WeakSink, offloads: UDPOffloadSupport, configuration: Configuration,
        receiveBufferSize: Int, sendBufferSize: Int, logger: Logger
    ) throws {
        self.channel = channel
        self.descriptor = descriptor
        self.sink = sink
        self.eventLoop = channel.eventLoop
        guard let local = channel.localAddress else { throw ChannelError.unknownLocalAddress }
        self.localAddress = local
        self.offloads = offloads
        self.receiveBufferSize = receiveBufferSize
        self.sendBufferSize = sendBufferSize
        self.logger = logger
        self.addressCache.ipv6Socket = local.protocol == .inet6
        self.batch = DatagramBatcher(
            allocator: channel.allocator,
            maxSegments: offloads.segmentation ? max(1, configuration.maxSegmentsPerSend) : 1
        )
    }

    /// Binds a UDP socket on `eventLoop` and starts reading into `sink` (held weakly). Call on
    /// `eventLoop`; use the result there (`assumeIsolated()`).
    package static func bind(
        on eventLoop: EventLoop,
        configuration: Configuration = Configuration(),
        sink: UDPDatagramSink,
        logger: Logger = Logger(label: "t2u.udp")
    ) -> EventLoopFuture<UDPEndpoint> {
        let wanted = UDPOffloadSupport(
            segmentation: configuration.segmentationOffload.resolve(UDPOffloadSupport.host.segmentation),
            receiveOffload: configuration.receiveOffload.resolve(UDPOffloadSupport.host.receiveOffload)
        )
        // recvmmsg splits one receive buffer evenly between its messages; a GRO run can be
        // up to 64 KiB, so fewer, larger slots then.
        #if os(Linux) || os(FreeBSD) || os(Android)
        let messageCount =
            wanted.receiveOffload
            ? min(configuration.vectorReadMessageCount, 16) : configuration.vectorReadMessageCount
        #else
        let messageCount = 1
        #endif
        let slot = wanted.receiveOffload ? 65_536 : max(configuration.maxDatagramSize, 1500)
        eventLoop.preconditionInEventLoop()
        let sinkBox = WeakSink(sink)

        let descriptor: CInt
        do {
            descriptor = try DatagramSocket.bound(host: configuration.host, port: configuration.port)
        } catch {
            return eventLoop.makeFailedFuture(error)
        }
        var bootstrap = DatagramBootstrap(group: eventLoop)
            .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: messageCount * slot))
            // One recvmmsg per readiness: a vector read that comes back short has emptied the
            // socket, and reading on to EAGAIN cost a second syscall on every wake-up (epoll
            // is level-triggered: a full vector read is followed by another readiness).
            .channelOption(.maxMessagesPerRead, value: UInt(messageCount > 1 ? 1 : 4))
            .channelOption(.socketOption(.so_rcvbuf), value: SocketOptionValue(configuration.socketBufferSize))
            .channelOption(.socketOption(.so_sndbuf), value: SocketOptionValue(configuration.socketBufferSize))
            .channelOption(.writeBufferWaterMark, value: .init(low: 1 << 20, high: 4 << 20))
            // Reads are issued by `UDPEndpointHandler`, which may hold them back.
            .channelOption(.autoRead, value: false)
        if messageCount > 1 {
            bootstrap = bootstrap.channelOption(.datagramVectorReadMessageCount, value: messageCount)
        }
        if wanted.receiveOffload {
            bootstrap =
                bootstrap
                .channelOption(.datagramReceiveOffload, value: true)
                .channelOption(.datagramReceiveSegmentSize, value: true)
        }
        bootstrap = bootstrap.channelInitializer { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(UDPEndpointHandler())
            }
        }
        return bootstrap.withBoundSocket(descriptor).assumeIsolated().flatMapThrowing { channel in
            func bufferSize(_ name: NIOBSDSocket.Option) -> Int {
                guard let value = try? channel.syncOptions?.getOption(.socketOption(name)) else { return 0 }
                return Int(value)
            }
            let rcv = bufferSize(.so_rcvbuf)
            let snd = bufferSize(.so_sndbuf)
            let endpoint = try UDPEndpoint(
                channel: channel, descriptor: descriptor, sink: sinkBox, offloads: wanted, configuration: configuration,
                receiveBufferSize: rcv, sendBufferSize: snd, logger: logger
            )
            try channel.pipeline.syncOperations.handler(type: UDPEndpointHandler.self).attach(
                endpoint: endpoint, sink: sinkBox,
                coalescing: configuration.coalesceReceives ? ReceiveCoalescing() : nil)
            channel.closeFuture.assumeIsolated().whenComplete { _ in endpoint.channelClosed() }
            logger.debug(
                "UDP endpoint bound",
                metadata: [
                    "address": "\(endpoint.localAddress)", "offloads": "\(wanted)",
                    "rcvbuf": "\(rcv)", "sndbuf": "\(snd)", "vectorRead": "\(messageCount)",
                ]
            )
            return endpoint
        }.nonisolated()
    }

    package var isWritable: Bool { channel.isWritable }

    /// Stages one datagram (its readable bytes are copied; the caller may reuse `datagram`).
    /// Consecutive equal-size datagrams to one destination become one GSO send.
    /// `awaitsAnswer`: false for datagrams nothing answers (pure ACKs), which leave a held read
    /// held; any other send releases it, as its answer may be on the way.
    package func enqueue(_ datagram: ByteBuffer, to address: NetAddress, awaitsAnswer: Bool = true) {
        eventLoop.preconditionInEventLoop()
        if awaitsAnswer { readScheduler?.endpointSent() }
        if let run = batch.append(datagram, to: address) { write(run) }
    }

    /// Hands every staged datagram to the kernel.
    package func flush() {
        eventLoop.preconditionInEventLoop()
        if let run = batch.finishRun() { write(run) }
        channel.flush()
    }

    package func close() -> EventLoopFuture<Void> {
        eventLoop.preconditionInEventLoop()
        closing = true  // an expected close: not reported as an error
        return channel.close()
    }

    private func write(_ run: DatagramBatcher.Run) {
        counters.sendOperations &+= 1
        // Once NIO holds a run (EAGAIN), later ones queue behind it to keep their order.
        guard queuedInNIO == 0 else { return writeThroughNIO(run) }
        guard channel.isActive else { return }  // closing: the descriptor may be gone
        let destination = run.destination
        let segmentSize = run.count > 1 ? run.segmentSize : nil
        let outcome: DatagramSocket.SendOutcome
        if let injected = sendFaultInjector?(destination) {
            outcome = injected == EAGAIN || injected == EWOULDBLOCK ? .wouldBlock : .failed(injected)
        } else {
            outcome = DatagramSocket.send(
                run.bytes, to: addressCache.socketAddress(for: destination), segmentSize: segmentSize, on: descriptor)
        }
        switch outcome {
        case .sent:
            counters.datagramsSent &+= UInt64(run.count)
        case .wouldBlock:
            writeThroughNIO(run)
        case .failed(let code) where segmentSize != nil && (code == EIO || code == EINVAL):
            retrySegmentsAlone(run, error: code)
        case .failed(let code):
            sendFailed(SendFailure(errno: code, destination: destination, datagrams: run.count))
        }
    }

    /// A GSO run failed with EIO or EINVAL: either the route refuses UDP_SEGMENT (the device
    /// lacks checksum offload) or the destination itself is refused. Its datagrams go one by
    /// one; if the first gets through, segmentation is off from now on.
    private func retrySegmentsAlone(_ run: DatagramBatcher.Run, error code: CInt) {
        var bytes = run.bytes
        var first = true
        while bytes.readableBytes > 0, let piece = bytes.readSlice(length: min(run.segmentSize, bytes.readableBytes)) {
            let single = DatagramBatcher.Run(
                destination: run.destination, bytes: piece, segmentSize: piece.readableBytes, count: 1)
            if first {
                first = false
                let before = counters.sendErrors
                write(single)
                if counters.sendErrors != before {
                    // The destination refuses even one datagram: GSO is not the cause.
                    if bytes.readableBytes > 0 {
                        let rest = (bytes.readableBytes + run.segmentSize - 1) / run.segmentSize
                        sendFailed(SendFailure(errno: code, destination: run.destination, datagrams: rest))
                    }
                    return
                }
                if offloads.segmentation {
                    logger.warning(
                        "UDP send failed with GSO; continuing without it",
                        metadata: ["error": "\(IOError(errnoCode: code, reason: "sendmsg"))"])
                    offloads.segmentation = false
                    if let pending = batch.finishRun() { write(pending) }
                    batch = DatagramBatcher(allocator: channel.allocator, maxSegments: 1)
                }
            } else {
                write(single)
            }
        }
    }

    /// Hands a run to NIO's queue: the socket buffer is full (or earlier runs wait there).
    private func writeThroughNIO(_ run: DatagramBatcher.Run) {
        let envelope = AddressedEnvelope(
            remoteAddress: addressCache.socketAddress(for: run.destination),
            data: run.bytes,
            metadata: run.count > 1
                ? .init(ecnState: .transportNotCapable, packetInfo: nil, segmentSize: run.segmentSize) : nil
        )
        counters.deferredSends &+= 1
        queuedInNIO += 1
        let promise = eventLoop.makePromise(of: Void.self)
        promise.futureResult.assumeIsolated().whenComplete { result in
            self.queuedInNIO -= 1
            switch result {
            case .success:
                self.counters.datagramsSent &+= UInt64(run.count)
            case .failure(let error):
                // NIO fails a refused queued write (EHOSTUNREACH, EMSGSIZE) alone; other errors
                // close its channel, which `channelClosed` reports.
                guard !self.closing, let code = (error as? IOError)?.errnoCode else { return }
                self.sendFailed(SendFailure(errno: code, destination: run.destination, datagrams: run.count))
            }
        }
        channel.write(envelope, promise: promise)
    }

    private func sendFailed(_ failure: SendFailure) {
        counters.sendErrors &+= 1
        counters.sendErrorsByErrno[failure.errno, default: 0] &+= 1
        counters.datagramsDropped &+= UInt64(failure.datagrams)
        failureLog.record(failure, now: .now(), logger: logger)
        sink.sink?.udpEndpoint(self, sendFailed: failure)
    }

    fileprivate func channelClosed() {
        guard !closing else { return }
        closing = true
        logger.error(
            "UDP socket closed unexpectedly: nothing more can be sent or received on it",
            metadata: ["address": "\(localAddress)"])
    }

    // MARK: called by the handler

    /// Delivers one envelope's datagrams; returns how many.
    fileprivate func received(_ envelope: AddressedEnvelope<ByteBuffer>, sink: UDPDatagramSink) -> Int {
        counters.receiveOperations &+= 1
        guard let from = NetAddress(envelope.remoteAddress) else { return 0 }
        var data = envelope.data
        if let segment = envelope.metadata?.segmentSize, segment > 0, data.readableBytes > segment {
            // A GRO run: equal segments, the last one possibly shorter.
            var count = 0
            while data.readableBytes > 0, let piece = data.readSlice(length: min(segment, data.readableBytes)) {
                counters.datagramsReceived &+= 1
                count += 1
                sink.udpEndpoint(self, received: piece, from: from)
            }
            return count
        }
        counters.datagramsReceived &+= 1
        sink.udpEndpoint(self, received: data, from: from)
        return 1
    }

    fileprivate func socketError(_ error: Error) {
        // Read-side only now (sends are ours): ICMP unreachable surfacing as ECONNREFUSED.
        counters.socketErrors &+= 1
        logger.debug("UDP socket error", metadata: ["error": "\(error)"])
    }
}

/// Groups outgoing datagrams into runs for GSO: same destination, same size (the last of a run
/// may be shorter), at most `maxSegments` and 64 KiB per run. Each run is one buffer the
/// datagrams are copied into, so there is one allocation per run rather than per datagram.
/// (Runs are separate buffers, not slices of a shared block: writing into a block whose
/// storage a slice still references would copy the whole block.)
struct DatagramBatcher {
    struct Run {
        var destination: NetAddress
        var bytes: ByteBuffer
        var segmentSize: Int
        var count: Int
    }

    /// UDP payload limit of one GSO send over IPv4 (65535 - IP and UDP headers).
    static let maxRunBytes = 65_507

    private let allocator: ByteBufferAllocator
    private let maxSegments: Int
    private var run: ByteBuffer?
    private var runDestination: NetAddress?
    private var runSegmentSize = 0
    private var runCount = 0
    /// The last datagram was shorter than the run's segment size: nothing may follow it.
    private var runSealed = false

    init(allocator: ByteBufferAllocator, maxSegments: Int) {
        self.allocator = allocator
        self.maxSegments = maxSegments
    }

    /// Appends a datagram; returns the previous run when this datagram could not join it.
    mutating func append(_ datagram: ByteBuffer, to destination: NetAddress) -> Run? {
        let size = datagram.readableBytes
        var completed: Run? = nil
        if runCount > 0 {
            let joins =
                destination == runDestination && !runSealed && size <= runSegmentSize
                && runCount < maxSegments && (runCount + 1) * runSegmentSize <= Self.maxRunBytes
            if !joins { completed = finishRun() }
        }
        if runCount == 0 {
            let segments = max(1, min(maxSegments, Self.maxRunBytes / max(size, 1)))
            run = allocator.buffer(capacity: size * segments)
            runDestination = destination
            runSegmentSize = size
            runSealed = false
        } else if size < runSegmentSize {
            runSealed = true
        }
        var bytes = datagram
        run?.writeBuffer(&bytes)
        runCount += 1
        return completed
    }

    mutating func finishRun() -> Run? {
        guard runCount > 0, let destination = runDestination, let bytes = run else { return nil }
        let completed = Run(destination: destination, bytes: bytes, segmentSize: runSegmentSize, count: runCount)
        run = nil
        runCount = 0
        runDestination = nil
        return completed
    }
}

/// Remembers the last conversion: a connection sends most datagrams to one peer, so the
/// per-datagram `SocketAddress` construction (which formats a host string) runs once.
/// On a dual-stack (IPv6) socket, IPv4 destinations are written as IPv4-mapped addresses.
struct SocketAddressCache {
    var ipv6Socket = false
    private var lastNet: NetAddress?
    private var lastSocket: SocketAddress?

    mutating func socketAddress(for address: NetAddress) -> SocketAddress {
        if let lastNet, lastNet == address, let lastSocket { return lastSocket }
        let converted = SocketAddress(address, forIPv6Socket: ipv6Socket)
        lastNet = address
        lastSocket = converted
        return converted
    }
}

final class WeakSink {  // on the loop, like the endpoint
    weak var sink: UDPDatagramSink?
    init(_ sink: UDPDatagramSink) { self.sink = sink }
}

/// Delivers datagrams to the endpoint's sink and issues the socket's reads (autoRead is off):
/// at once, or after the hold `ReceiveCoalescing` asks for. A send releases a held read, and a
/// batch that made us send is not held: we may be in an exchange whose answer comes next (a
/// request and its response, a ping-pong), where a hold would add its length to every round.
final class UDPEndpointHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>

    private var endpoint: UDPEndpoint?
    private var sink: WeakSink?
    private var coalescing: ReceiveCoalescing?
    private var context: ChannelHandlerContext?
    private var datagramsThisBatch = 0
    private var sentSinceBatch = false
    private var heldRead: Scheduled<Void>?
    private let clock: () -> Instant

    /// `clock`: a test seam (the monotonic clock otherwise).
    init(clock: @escaping () -> Instant = MonotonicClock.now) {
        self.clock = clock
    }

    /// Starts reading.
    func attach(endpoint: UDPEndpoint, sink: WeakSink, coalescing: ReceiveCoalescing?) {
        self.endpoint = endpoint
        self.sink = sink
        self.coalescing = coalescing
        endpoint.readScheduler = self
        endpoint.channel.read()
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        heldRead?.cancel()
        heldRead = nil
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let endpoint, let sink = sink?.sink else { return }
        datagramsThisBatch += endpoint.received(Self.unwrapInboundIn(data), sink: sink)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        let datagrams = datagramsThisBatch
        datagramsThisBatch = 0
        if let endpoint, let sink = sink?.sink { sink.udpEndpointReadBatchComplete(endpoint) }
        let sent = sentSinceBatch
        sentSinceBatch = false
        guard heldRead == nil else { return }
        let hold = coalescing?.holdAfterBatch(datagrams: datagrams, sentSinceLastBatch: sent, now: clock())
        if let hold {
            heldRead = context.eventLoop.assumeIsolated().scheduleTask(in: .nanoseconds(hold.value)) {
                self.heldRead = nil
                context.read()
            }
        } else {
            context.read()
        }
    }

    /// The endpoint sent a datagram: a held read goes at once.
    func endpointSent() {
        sentSinceBatch = true
        guard let held = heldRead, let context else { return }
        held.cancel()
        heldRead = nil
        context.read()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        guard let endpoint, let sink = sink?.sink else { return }
        sink.udpEndpoint(endpoint, writabilityChanged: context.channel.isWritable)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // UDP errors (ICMP unreachable surfacing as ECONNREFUSED, a refused GSO send) are not
        // fatal for the socket: keep it open.
        endpoint?.socketError(error)
    }
}
