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
public protocol UDPDatagramSink: AnyObject {
    /// One datagram (GRO runs are already split back into their segments).
    func udpEndpoint(_ endpoint: UDPEndpoint, received datagram: ByteBuffer, from address: NetAddress)
    /// The socket has no more to read for now: a good moment to answer with a batch of writes.
    func udpEndpointReadBatchComplete(_ endpoint: UDPEndpoint)
    /// NIO's pending-write queue crossed a watermark: stop producing datagrams while false.
    func udpEndpoint(_ endpoint: UDPEndpoint, writabilityChanged writable: Bool)
}

/// One UDP socket on one event loop with batched I/O: `recvmmsg` vector reads (plus GRO where
/// available) in, and `sendmmsg` (plus GSO for runs of equal-size datagrams to one destination)
/// out. Writes are staged with `enqueue` and leave the process on `flush`, once per loop tick.
///
/// Confined to `eventLoop`: every method except `bind` and `close` must run on it.
public final class UDPEndpoint: @unchecked Sendable {
    public struct Configuration: Sendable {
        public var host: String = "127.0.0.1"
        public var port: Int = 0
        /// Datagrams per `recvmmsg`.
        public var vectorReadMessageCount: Int = 64
        /// SO_RCVBUF / SO_SNDBUF request (the kernel caps it at rmem_max / wmem_max).
        public var socketBufferSize: Int = 8 << 20
        /// Largest datagram we expect to receive without GRO.
        public var maxDatagramSize: Int = 2048
        public var segmentationOffload: OffloadMode = .auto
        public var receiveOffload: OffloadMode = .auto
        /// Upper bound on datagrams per GSO send (the kernel's UDP_MAX_SEGMENTS is 64 or more).
        public var maxSegmentsPerSend: Int = 64

        public init() {}
    }

    /// Counters for tests and the benchmark.
    public struct Counters: Sendable, Equatable {
        public var datagramsSent: UInt64 = 0
        /// Envelopes handed to NIO (one per GSO run, one per datagram without GSO).
        public var sendOperations: UInt64 = 0
        public var datagramsReceived: UInt64 = 0
        /// Envelopes NIO delivered (one per GRO run).
        public var receiveOperations: UInt64 = 0
        public var sendErrors: UInt64 = 0

        public init() {}
    }

    public let eventLoop: EventLoop
    public let localAddress: SocketAddress
    /// GSO / GRO in use on this socket (requested and supported).
    public private(set) var offloads: UDPOffloadSupport
    public private(set) var counters = Counters()
    /// Effective kernel buffer sizes (Linux reports twice the usable amount).
    public let receiveBufferSize: Int
    public let sendBufferSize: Int

    let channel: Channel
    private let logger: Logger
    private var batch: DatagramBatcher
    private var addressCache = SocketAddressCache()

    private init(
        channel: Channel, offloads: UDPOffloadSupport, configuration: Configuration,
        receiveBufferSize: Int, sendBufferSize: Int, logger: Logger
    ) throws {
        self.channel = channel
        self.eventLoop = channel.eventLoop
        guard let local = channel.localAddress else { throw ChannelError.unknownLocalAddress }
        self.localAddress = local
        self.offloads = offloads
        self.receiveBufferSize = receiveBufferSize
        self.sendBufferSize = sendBufferSize
        self.logger = logger
        self.batch = DatagramBatcher(
            allocator: channel.allocator,
            maxSegments: offloads.segmentation ? max(1, configuration.maxSegmentsPerSend) : 1
        )
    }

    /// Binds a UDP socket on `eventLoop` and starts reading into `sink` (held weakly).
    public static func bind(
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
        let messageCount = wanted.receiveOffload
            ? min(configuration.vectorReadMessageCount, 16) : configuration.vectorReadMessageCount
        #else
        let messageCount = 1
        #endif
        let slot = wanted.receiveOffload ? 65_536 : max(configuration.maxDatagramSize, 1500)
        let handler = UDPEndpointHandler()
        let sinkBox = WeakSink(sink)

        var bootstrap = DatagramBootstrap(group: eventLoop)
            .channelOption(.socketOption(.so_reuseaddr), value: 1)
            .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: messageCount * slot))
            .channelOption(.maxMessagesPerRead, value: 4)
            .channelOption(.socketOption(.so_rcvbuf), value: SocketOptionValue(configuration.socketBufferSize))
            .channelOption(.socketOption(.so_sndbuf), value: SocketOptionValue(configuration.socketBufferSize))
            .channelOption(.writeBufferWaterMark, value: .init(low: 1 << 20, high: 4 << 20))
        if messageCount > 1 {
            bootstrap = bootstrap.channelOption(.datagramVectorReadMessageCount, value: messageCount)
        }
        if wanted.receiveOffload {
            bootstrap = bootstrap
                .channelOption(.datagramReceiveOffload, value: true)
                .channelOption(.datagramReceiveSegmentSize, value: true)
        }
        bootstrap = bootstrap.channelInitializer { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(handler)
            }
        }
        return bootstrap.bind(host: configuration.host, port: configuration.port).flatMapThrowing { channel in
            func bufferSize(_ name: NIOBSDSocket.Option) -> Int {
                guard let value = try? channel.syncOptions?.getOption(.socketOption(name)) else { return 0 }
                return Int(value)
            }
            let rcv = bufferSize(.so_rcvbuf)
            let snd = bufferSize(.so_sndbuf)
            let endpoint = try UDPEndpoint(
                channel: channel, offloads: wanted, configuration: configuration,
                receiveBufferSize: rcv, sendBufferSize: snd, logger: logger
            )
            handler.attach(endpoint: endpoint, sink: sinkBox)
            logger.debug(
                "UDP endpoint bound",
                metadata: [
                    "address": "\(endpoint.localAddress)", "offloads": "\(wanted)",
                    "rcvbuf": "\(rcv)", "sndbuf": "\(snd)", "vectorRead": "\(messageCount)",
                ]
            )
            return endpoint
        }
    }

    public var isWritable: Bool { channel.isWritable }

    /// Stages one datagram (its readable bytes are copied; the caller may reuse `datagram`).
    /// Consecutive equal-size datagrams to one destination become one GSO send.
    public func enqueue(_ datagram: ByteBuffer, to address: NetAddress) {
        eventLoop.preconditionInEventLoop()
        if let run = batch.append(datagram, to: address) { write(run) }
    }

    /// Hands every staged datagram to the kernel (one `sendmmsg` sweep).
    public func flush() {
        eventLoop.preconditionInEventLoop()
        if let run = batch.finishRun() { write(run) }
        channel.flush()
    }

    public func close() -> EventLoopFuture<Void> {
        channel.close()
    }

    private func write(_ run: DatagramBatcher.Run) {
        let useSegmentSize = run.count > 1
        let envelope = AddressedEnvelope(
            remoteAddress: addressCache.socketAddress(for: run.destination),
            data: run.bytes,
            metadata: useSegmentSize
                ? .init(ecnState: .transportNotCapable, packetInfo: nil, segmentSize: run.segmentSize) : nil
        )
        counters.datagramsSent &+= UInt64(run.count)
        counters.sendOperations &+= 1
        channel.write(envelope, promise: nil)
    }

    // MARK: called by the handler

    fileprivate func received(_ envelope: AddressedEnvelope<ByteBuffer>, sink: UDPDatagramSink) {
        counters.receiveOperations &+= 1
        guard let from = NetAddress(envelope.remoteAddress) else { return }
        var data = envelope.data
        if let segment = envelope.metadata?.segmentSize, segment > 0, data.readableBytes > segment {
            // A GRO run: equal segments, the last one possibly shorter.
            while data.readableBytes > 0, let piece = data.readSlice(length: min(segment, data.readableBytes)) {
                counters.datagramsReceived &+= 1
                sink.udpEndpoint(self, received: piece, from: from)
            }
        } else {
            counters.datagramsReceived &+= 1
            sink.udpEndpoint(self, received: data, from: from)
        }
    }

    fileprivate func socketError(_ error: Error) {
        counters.sendErrors &+= 1
        // A kernel that advertised UDP_SEGMENT may still refuse it on this route (EIO when the
        // device lacks checksum offload, EINVAL for an odd segment): stop coalescing, later
        // sends go one by one. Other errors (ECONNREFUSED from ICMP) leave GSO on.
        let gsoRefusal = (error as? IOError).map { $0.errnoCode == EIO || $0.errnoCode == EINVAL } ?? false
        if offloads.segmentation && gsoRefusal {
            logger.warning("UDP send failed with GSO; continuing without it", metadata: ["error": "\(error)"])
            offloads.segmentation = false
            if let run = batch.finishRun() { write(run) }
            batch = DatagramBatcher(allocator: channel.allocator, maxSegments: 1)
        } else {
            logger.debug("UDP send failed", metadata: ["error": "\(error)"])
        }
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
            let joins = destination == runDestination && !runSealed && size <= runSegmentSize
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
struct SocketAddressCache {
    private var lastNet: NetAddress?
    private var lastSocket: SocketAddress?

    mutating func socketAddress(for address: NetAddress) -> SocketAddress {
        if let lastNet, lastNet == address, let lastSocket { return lastSocket }
        let converted = SocketAddress(address)
        lastNet = address
        lastSocket = converted
        return converted
    }
}

private final class WeakSink: @unchecked Sendable {  // touched only on the loop
    weak var sink: UDPDatagramSink?
    init(_ sink: UDPDatagramSink) { self.sink = sink }
}

private final class UDPEndpointHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>

    private var endpoint: UDPEndpoint?
    private var sink: WeakSink?

    func attach(endpoint: UDPEndpoint, sink: WeakSink) {
        self.endpoint = endpoint
        self.sink = sink
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let endpoint, let sink = sink?.sink else { return }
        endpoint.received(Self.unwrapInboundIn(data), sink: sink)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        guard let endpoint, let sink = sink?.sink else { return }
        sink.udpEndpointReadBatchComplete(endpoint)
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
