// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import ArgumentParser
import Logging
import NIOCore
import NIOPosix
import T2UCheck
import T2UCommandLine
import T2UCore
import T2UNIO

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Loopback transport benchmark in one process: raw TCP vs TCP through the tunnel
/// (TCP -> client TunnelService -> stream over UDP -> device TunnelService -> TCP).
struct TransportBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "transport",
        abstract: "Throughput, CPU per GB and added latency of the tunnel vs raw TCP on loopback."
    )

    @Option(help: "Bytes to move in each throughput run.")
    var bytes: Int = 1 << 30

    @Option(help: "Time cap in seconds for each throughput run (and for each ping-pong run).")
    var duration: Double = 30

    @Option(help: "Congestion control: \(CongestionControlKind.allCases.map(\.rawValue).joined(separator: "|")).")
    var cc: String = "cubic"

    @Option(help: "UDP payload size of tunnel datagrams (1472 = 1500-byte IPv4 datagrams).")
    var datagramSize: Int = 1472

    @Option(help: "Ping-pong round trips for the latency comparison.")
    var roundTrips: Int = 2000

    @Option(help: "Ping-pong message size in bytes.")
    var messageSize: Int = 64

    @Option(help: "UDP offloads (GSO/GRO): auto|disabled.")
    var offload: String = "auto"

    @Option(help: "Log level (stderr).")
    var logLevel: Logger.Level = .warning

    @OptionGroup var logging: LogFormatOption

    func validate() throws {
        guard CongestionControlKind(rawValue: cc) != nil else { throw ValidationError("--cc must be cubic or bbr") }
        guard OffloadMode(rawValue: offload) != nil else { throw ValidationError("--offload must be auto or disabled") }
        guard bytes > 0, duration > 0, roundTrips > 0, messageSize > 0 else {
            throw ValidationError("values must be positive")
        }
        guard (576...65_507).contains(datagramSize) else {
            throw ValidationError("--datagram-size must be 576...65507")
        }
    }

    func run() async throws {
        logging.bootstrap(level: logLevel)
        let logger = Logger(label: "t2u.bench")
        // Client applications and servers on their own loops, so raw TCP crosses threads as
        // the tunnel does (a tunnel's hops are separate processes in real use).
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 4)
        let tcpLoop = group.next()
        let serverLoop = group.next()
        let clientLoop = group.next()
        let deviceLoop = group.next()
        let cap = TimeAmount.nanoseconds(Int64(duration * 1e9))

        // Servers: sink and echo.
        let sink = SinkServer(loop: serverLoop)
        let sinkAddress = try await sink.start()
        let echoAddress = try await ServerBootstrap(group: serverLoop)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(TCPEchoHandler())
                }
            }
            .bind(host: "127.0.0.1", port: 0).get().localAddress!

        // (a) raw TCP
        logger.info("raw TCP throughput")
        let raw = try await throughput(to: sinkAddress, via: tcpLoop, sink: sink, cap: cap)
        let rawLatency = try await pingPong(to: echoAddress, loop: tcpLoop, cap: cap)

        // (b) the tunnel
        var config = TransportConfig()
        config.maxDatagramSize = datagramSize
        config.congestionControl = CongestionControlKind(rawValue: cc) ?? .cubic
        var udpConfig = UDPEndpoint.Configuration()
        udpConfig.segmentationOffload = OffloadMode(rawValue: offload) ?? .auto
        udpConfig.receiveOffload = udpConfig.segmentationOffload
        let tunnel = try await Tunnel.make(
            config: config, udp: udpConfig, clientLoop: clientLoop, deviceLoop: deviceLoop, logger: logger)
        let sinkViaTunnel = try await tunnel.listen(forwardingTo: sinkAddress)
        let echoViaTunnel = try await tunnel.listen(forwardingTo: echoAddress)
        logger.info("tunnel throughput")
        let usageBefore = CPUUsage.now()
        let viaTunnel = try await throughput(to: sinkViaTunnel, via: tcpLoop, sink: sink, cap: cap)
        let cpu = CPUUsage.now() - usageBefore
        let tunnelLatency = try await pingPong(to: echoViaTunnel, loop: tcpLoop, cap: cap)
        let stats = try await tunnel.stats()
        try await tunnel.close()

        let gb = Double(viaTunnel.bytes) / 1e9
        let cpuPerGB = gb > 0 ? cpu / gb : 0
        let rawP = Percentiles(rawLatency)
        let tunP = Percentiles(tunnelLatency)
        let addedP50 = tunP.p50 - rawP.p50
        let addedP99 = tunP.p99 - rawP.p99

        func f(_ v: Double, _ digits: Int = 1) -> String { formatFixed(v, digits: digits) }
        func row(_ name: String, _ a: String, _ b: String) -> String {
            name.rightPad(26) + a.leftPad(14) + b.leftPad(14)
        }
        print(
            "t2u transport benchmark (loopback, one process; UDP payload \(datagramSize) B, cc \(cc), offloads \(tunnel.offloads))"
        )
        print(row("", "raw TCP", "tunnel"))
        print(row("bytes moved", "\(raw.bytes)", "\(viaTunnel.bytes)"))
        print(row("seconds", f(raw.seconds, 3), f(viaTunnel.seconds, 3)))
        print(row("throughput Mbit/s", f(raw.mbps), f(viaTunnel.mbps)))
        print(row("CPU s per GB (process)", "-", f(cpuPerGB, 3)))
        print(row("RTT p50 us (\(messageSize) B)", f(rawP.p50), f(tunP.p50)))
        print(row("RTT p99 us", f(rawP.p99), f(tunP.p99)))
        print(row("round trips", "\(rawLatency.count)", "\(tunnelLatency.count)"))
        print(row("UDP datagrams sent", "-", "\(stats.datagramsSent)"))
        print(row("UDP sends (GSO runs)", "-", "\(stats.sendOperations)"))
        print(row("packets lost", "-", "\(stats.packetsLost)"))
        print(
            "RESULT transport tunnel_mbps=\(f(viaTunnel.mbps)) raw_tcp_mbps=\(f(raw.mbps)) "
                + "cpu_s_per_gb=\(f(cpuPerGB, 3)) p50_us=\(f(addedP50)) p99_us=\(f(addedP99))"
        )
        try await group.shutdownGracefully()
    }

    struct Throughput {
        var bytes: Int
        var seconds: Double
        var mbps: Double { seconds > 0 ? Double(bytes) * 8 / seconds / 1e6 : 0 }
    }

    private func throughput(
        to address: SocketAddress, via loop: EventLoop, sink: SinkServer, cap: TimeAmount
    ) async throws
        -> Throughput
    {
        let done = sink.expectConnection()
        let started = loop.makePromise(of: NIODeadline.self)
        let deadline = NIODeadline.now() + cap
        let total = bytes
        _ = try await ClientBootstrap(group: loop)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelOption(.writeBufferWaterMark, value: .init(low: 512 * 1024, high: 2 * 1024 * 1024))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        TCPSourceHandler(total: total, deadline: deadline, started: started))
                }
            }
            .connect(to: address).get()
        let start = try await started.futureResult.get()
        // Bounded wait: the source stops at the cap; allow the pipe a little time to drain.
        let (received, lastByte) = try await done.withTimeout(cap + .seconds(30), on: loop).get()
        let seconds = Double(lastByte.uptimeNanoseconds &- start.uptimeNanoseconds) / 1e9
        return Throughput(bytes: received, seconds: max(seconds, 1e-9))
    }

    private func pingPong(to address: SocketAddress, loop: EventLoop, cap: TimeAmount) async throws -> [Int64] {
        let done = loop.makePromise(of: [Int64].self)
        let (size, count, deadline) = (messageSize, roundTrips, NIODeadline.now() + cap)
        _ = try await ClientBootstrap(group: loop)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        PingPongHandler(size: size, count: count, deadline: deadline, done: done))
                }
            }
            .connect(to: address).get()
        let samples = try await done.futureResult.withTimeout(cap + .seconds(10), on: loop).get()
        // The first round trips warm caches and windows up.
        return Array(samples.dropFirst(min(20, samples.count / 10)))
    }
}

/// A TCP sink server; each throughput run registers for its next connection.
final class SinkServer: Sendable {
    let loop: EventLoop
    /// Runs waiting for their connection, in order (on the loop: accepted channels live there).
    private let waiting: NIOLoopBoundBox<[EventLoopPromise<(Int, NIODeadline)>]>

    init(loop: EventLoop) {
        self.loop = loop
        waiting = .makeBoxSendingValue([], eventLoop: loop)
    }

    func start() async throws -> SocketAddress {
        let channel = try await ServerBootstrap(group: loop)
            .childChannelOption(
                .recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 4096, initial: 65_536, maximum: 1 << 20)
            )
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let done = channel.eventLoop.makePromise(of: (Int, NIODeadline).self)
                    if !self.waiting.value.isEmpty { done.futureResult.cascade(to: self.waiting.value.removeFirst()) }
                    try channel.pipeline.syncOperations.addHandler(TCPSinkHandler(done: done))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return channel.localAddress!
    }

    func expectConnection() -> EventLoopFuture<(Int, NIODeadline)> {
        let promise = loop.makePromise(of: (Int, NIODeadline).self)
        loop.execute { self.waiting.value.append(promise) }
        return promise.futureResult
    }
}

/// Two endpoint drivers on loopback with a client TunnelService and a device TunnelService;
/// `listen(forwardingTo:)` adds a local port whose streams the device connects to a target.
/// Each lives on its loop (`LoopOwned`).
struct Tunnel: Sendable {
    let client: LoopOwned<EndpointDriver>
    let device: LoopOwned<EndpointDriver>
    let clientService: LoopOwned<TunnelService>
    let offloads: UDPOffloadSupport

    static func make(
        config: TransportConfig, udp: UDPEndpoint.Configuration, clientLoop: EventLoop, deviceLoop: EventLoop,
        logger: Logger
    ) async throws -> Tunnel {
        let entropy = SystemEntropy()
        let deviceIdentity = StaticIdentity.generate(entropy)
        let clientIdentity = StaticIdentity.generate(entropy)
        func driver(_ identity: StaticIdentity, accepts: Bool, on loop: EventLoop) -> LoopOwned<EndpointDriver> {
            let endpoint = TransportEndpoint(
                options: .init(config: config, identity: identity, acceptIncoming: accepts), entropy: SystemEntropy())
            return LoopOwned(
                sending: EndpointDriver(endpoint: endpoint, eventLoop: loop, logger: logger), eventLoop: loop)
        }
        let device = driver(deviceIdentity, accepts: true, on: deviceLoop)
        let client = driver(clientIdentity, accepts: false, on: clientLoop)
        let deviceAddress = try await device.flatSubmit { $0.start(udp: udp) }.get()
        _ = try await client.flatSubmit { $0.start(udp: udp) }.get()
        try await device.submit { device in
            device.onAccept = { [unowned device] connection in
                let service = TunnelService(driver: device, connection: connection, logger: logger)
                service.serveIncomingStreams(policy: .deviceOnly)
            }
        }.get()
        let remoteKey = deviceIdentity.publicKey
        let service = try await client.submit { client in
            let connection = try client.connect(to: deviceAddress, remoteStaticKey: remoteKey, password: nil)
            return LoopOwned(
                TunnelService(driver: client, connection: connection, logger: logger), eventLoop: clientLoop)
        }.get()
        try await service.flatSubmit { $0.established.withTimeout(.seconds(10), on: clientLoop) }.get()
        let offloads = try await client.submit { $0.udp?.offloads ?? .none }.get()
        return Tunnel(client: client, device: device, clientService: service, offloads: offloads)
    }

    /// A local port tunnelled to `target` (on the device's loopback: always allowed).
    func listen(forwardingTo target: SocketAddress) async throws -> SocketAddress {
        guard let address = NetAddress(target) else { throw ChannelError.unknownLocalAddress }
        let header = StreamTargetHeader(host: .address(address.host), port: address.port)
        return try await clientService.flatSubmit { $0.listen(target: header) }.get()
    }

    struct Stats {
        var datagramsSent: UInt64
        var sendOperations: UInt64
        var packetsLost: UInt64
    }

    func stats() async throws -> Stats {
        let client = self.client
        return try await clientService.submit { service in
            let counters = client.value.udp?.counters ?? .init()
            return Stats(
                datagramsSent: counters.datagramsSent, sendOperations: counters.sendOperations,
                packetsLost: service.connection.stats.packetsLost)
        }.get()
    }

    func close() async throws {
        try await clientService.flatSubmit { $0.close() }.get()
        try await client.flatSubmit { $0.close() }.get()
        try await device.flatSubmit { $0.close() }.get()
    }
}

/// User + system CPU seconds of this process.
enum CPUUsage {
    static func now() -> Double {
        var usage = rusage()
        #if canImport(Glibc)
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        #else
        getrusage(RUSAGE_SELF, &usage)
        #endif
        func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }
}

struct Percentiles {
    var p50: Double
    var p99: Double
    /// Nanosecond samples -> microsecond percentiles (nearest rank).
    init(_ samples: [Int64]) {
        let sorted = samples.sorted()
        func pick(_ p: Double) -> Double {
            guard !sorted.isEmpty else { return 0 }
            let rank = Int((p * Double(sorted.count)).rounded(.up)) - 1
            return Double(sorted[min(max(rank, 0), sorted.count - 1)]) / 1e3
        }
        p50 = pick(0.50)
        p99 = pick(0.99)
    }
}

/// Fixed-point text without Foundation's String(format:).
func formatFixed(_ value: Double, digits: Int) -> String {
    guard value.isFinite else { return "\(value)" }
    var scale: Int64 = 1
    for _ in 0..<digits { scale *= 10 }
    let scaled = Int64((abs(value) * Double(scale)).rounded())
    var text = (value < 0 && scaled != 0 ? "-" : "") + "\(scaled / scale)"
    if digits > 0 {
        let fraction = String(scaled % scale)
        text += "." + String(repeating: "0", count: digits - fraction.count) + fraction
    }
    return text
}

extension String {
    func rightPad(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }

    func leftPad(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}

struct BenchTimeout: Error, CustomStringConvertible {
    var description: String { "benchmark step timed out" }
}

extension EventLoopFuture {
    /// Fails with `BenchTimeout` if not completed within `timeout`: no wait is unbounded.
    func withTimeout(_ timeout: TimeAmount, on loop: EventLoop) -> EventLoopFuture<Value> where Value: Sendable {
        let promise = loop.makePromise(of: Value.self)
        let task = loop.scheduleTask(in: timeout) { promise.fail(BenchTimeout()) }
        self.whenComplete { result in
            task.cancel()
            promise.completeWith(result)
        }
        return promise.futureResult
    }
}
