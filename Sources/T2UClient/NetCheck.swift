// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Logging
import NIOCore
import NIOPosix
import T2UCore
import T2UNIO

/// Options of `NetCheck.run` (`t2u netcheck`).
public struct NetCheckOptions: Sendable {
    /// As `T2UClientOptions.server`: one or several servers (`h1:p1,h2:p2`); each is checked.
    public var server: String
    public var serverPort: UInt16
    /// `svrkey`: compared with the key each server states (nil: not checked).
    public var serverKey: String?
    /// Bound on the UDP probes (and on the port-mapping probe); the whole run ends within
    /// about this plus half a second (deleting a granted test mapping).
    public var timeout: Nanos = .seconds(2)
    /// Ask the LAN's gateway (PCP, NAT-PMP) and UPnP IGDs for a short test mapping.
    public var portMapping = true
    /// The servers' TCP/TLS fallback port to check (TLS and the upgrade answer); 0: not checked.
    public var tcpPort = 443

    public init(server: String, serverPort: UInt16, serverKey: String? = nil) {
        self.server = server
        self.serverPort = serverPort
        self.serverKey = serverKey
    }
}

/// `t2u netcheck`: measures this network as the agents see it, without registering. The NIO
/// shell of `NetCheckProbe` (primary and secondary sockets per family) plus a one-shot
/// `GatewayPortMapper` on the probe socket's port; `NetCheckReport.make` turns it into words.
public enum NetCheck {
    public static func run(
        _ options: NetCheckOptions, logger: Logger = Logger(label: "t2u.netcheck")
    ) async throws(T2UClientError) -> NetCheckReport {
        let servers: [NetAddress]
        do {
            servers = try ServerAddressList.resolve(options.server, defaultPort: options.serverPort)
        } catch {
            throw .invalidArgument("server \(options.server): \(error)")
        }
        let expectedKey: [UInt8]?
        do {
            expectedKey = try ServerPublicKey.parse(options.serverKey)
        } catch {
            throw .invalidArgument(ServerPublicKey.requirement)
        }
        guard options.timeout > .zero, options.timeout <= .seconds(30) else {
            throw .invalidArgument("timeout must be > 0 and <= 30 s")
        }
        guard (0...65535).contains(options.tcpPort) else {
            throw .invalidArgument("tcpPort must be 0...65535 (0: not checked)")
        }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        let result: Result<NetCheckReport, T2UClientError>
        do {
            result = .success(
                try await loop.flatSubmit {
                    NetCheckRun.start(
                        servers: servers, options: options, expectedKey: expectedKey, on: loop, logger: logger)
                }.get())
        } catch let error as T2UClientError {
            result = .failure(error)
        } catch {
            result = .failure(.invalidArgument("netcheck: \(error)"))
        }
        try? await group.shutdownGracefully()
        return try result.get()
    }
}

/// One run, confined to its loop (captured through `NIOLoopBound`).
private final class NetCheckRun: UDPDatagramSink {
    private let loop: EventLoop
    private let logger: Logger
    private var probe: NetCheckProbe
    private let promise: EventLoopPromise<NetCheckReport>
    private let expectedKey: [UInt8]?
    private let options: NetCheckOptions
    /// Per family: the probe socket and the second one (hairpin and filtering tests).
    private var sockets: [(primary: UDPEndpoint, secondary: UDPEndpoint?)] = []
    private var mapper: GatewayPortMapper?
    private var mapperNote: String?
    private var timer: Scheduled<Void>?
    private let gatewayDeadline: NIODeadline
    /// The TCP/TLS fallback checks, one per server, beside the UDP probes; nil: not checked.
    private var tcpChecks: EventLoopFuture<NetCheckReport.TCPFacts?>
    private var finished = false
    /// PCP 2 tries (250 ms, doubling) then NAT-PMP 2 tries; SSDP 2 searches 600 ms apart.
    static let portMappingBound = Nanos.milliseconds(1600)

    private init(probe: NetCheckProbe, options: NetCheckOptions, expectedKey: [UInt8]?, loop: EventLoop, logger: Logger)
    {
        self.probe = probe
        self.options = options
        self.expectedKey = expectedKey
        self.loop = loop
        self.logger = logger
        promise = loop.makePromise()
        tcpChecks = loop.makeSucceededFuture(nil)
        // The gateway protocols need ~1.5 s to give up (NetCheckRun.startPortMapping's schedule).
        gatewayDeadline = .now() + .nanoseconds(max(options.timeout, Self.portMappingBound).value)
    }

    static func start(
        servers: [NetAddress], options: NetCheckOptions, expectedKey: [UInt8]?, on loop: EventLoop,
        logger: Logger
    ) -> EventLoopFuture<NetCheckReport> {
        let targets = servers.map { server -> (main: NetAddress, observation: NetAddress?) in
            (server, server.port < UInt16.max ? NetAddress(host: server.host, port: server.port + 1) : nil)
        }
        var config = NetCheckProbe.Config()
        config.timeout = options.timeout
        let tcpPort = options.tcpPort
        let tcpChecks =
            tcpPort == 0
            ? loop.makeSucceededFuture(nil)
            : EventLoopFuture.whenAllSucceed(
                servers.map {
                    ServerStreamProbe.check(
                        NetAddress(host: $0.host, port: UInt16(tcpPort)), timeout: .nanoseconds(options.timeout.value),
                        on: loop)
                }, on: loop
            ).map { Optional(NetCheckReport.TCPFacts(port: tcpPort, outcomes: $0)) }
        let run = NetCheckRun(
            probe: NetCheckProbe(servers: targets, entropy: SystemEntropy(), now: EndpointDriver.now(), config: config),
            options: options, expectedKey: expectedKey, loop: loop, logger: logger)
        run.tcpChecks = tcpChecks
        let families = Set(servers.map(\.isIPv6))
        let hosts = [false, true].filter { families.contains($0) }.map { $0 ? "::" : "0.0.0.0" }
        var configuration = UDPEndpoint.Configuration()
        configuration.port = 0
        configuration.socketBufferSize = 256 << 10
        configuration.vectorReadMessageCount = 4
        configuration.segmentationOffload = .disabled
        configuration.receiveOffload = .disabled
        let bound = NIOLoopBound(run, eventLoop: loop)
        // Primary and secondary sockets for each family the servers use; a family that cannot bind
        // (no IPv6 on this host) is left out and its servers show as unreachable.
        let binds = hosts.map { host -> EventLoopFuture<Void> in
            configuration.host = host
            let secondaryConfiguration = configuration
            return UDPEndpoint.bind(on: loop, configuration: configuration, sink: run, logger: logger).assumeIsolated()
                .flatMap { primary in
                    UDPEndpoint.bind(on: loop, configuration: secondaryConfiguration, sink: run, logger: logger)
                        .assumeIsolated()
                        .map { run.sockets.append((primary: primary, secondary: Optional($0))) }
                        .recover { _ in run.sockets.append((primary: primary, secondary: nil)) }
                        .nonisolated()
                }
                .recover { error in
                    logger.debug("netcheck socket not bound", metadata: ["host": "\(host)", "error": "\(error)"])
                }
                .nonisolated()
        }
        return EventLoopFuture.andAllSucceed(binds, on: loop).flatMap {
            let run = bound.value
            // IPv4 first, whichever bound first.
            run.sockets.sort { !$0.primary.localAddress.isIPv6 && $1.primary.localAddress.isIPv6 }
            guard !run.sockets.isEmpty else {
                return loop.makeFailedFuture(T2UClientError.invalidArgument("netcheck: no UDP socket could be opened"))
            }
            run.startPortMapping()
            run.step()
            return run.promise.futureResult
        }
    }

    private func startPortMapping() {
        guard options.portMapping else {
            mapperNote = "turned off"
            return
        }
        guard let v4 = sockets.first(where: { !$0.primary.localAddress.isIPv6 }),
            let port = v4.primary.localAddress.port
        else {
            mapperNote = "no IPv4 server: the gateway protocols map IPv4"
            return
        }
        var config = GatewayMapperConfig()
        config.lifetimeSeconds = 60
        config.pcpAttempts = 2
        config.natPMPAttempts = 2
        config.ssdpAttempts = 2
        config.ssdpInterval = .milliseconds(600)
        config.retryAfterFailure = .seconds(3600)
        config.label = "t2u netcheck"
        config.searchUPnPAfterGrant = true
        let bound = NIOLoopBound(self, eventLoop: loop)
        GatewayPortMapper.start(internalPort: UInt16(port), on: loop, logger: logger, config: config) { _ in }
            .whenComplete { result in
                let run = bound.value
                switch result {
                case .success(let mapper):
                    if run.finished { _ = mapper.stop(grace: .milliseconds(500)) } else { run.mapper = mapper }
                case .failure(let error):
                    run.mapperNote = "\(error)"
                }
            }
    }

    /// Sends what is due, then finishes or waits for the next deadline.
    private func step() {
        guard !finished else { return }
        let now = EndpointDriver.now()
        for transmit in probe.poll(now: now) {
            let family = sockets.first { $0.primary.localAddress.isIPv6 == transmit.to.isIPv6 }
            guard let endpoint = transmit.socket == .primary ? family?.primary : family?.secondary else { continue }
            endpoint.enqueue(transmit.bytes, to: transmit.to)
            endpoint.flush()
        }
        let probesDone = probe.isDone(now: now)
        let mapperDone = mapper.map { $0.probe.settled } ?? (mapperNote != nil || !options.portMapping)
        if probesDone && (mapperDone || NIODeadline.now() >= gatewayDeadline) { return finish() }
        timer?.cancel()
        let next = probesDone ? now + .milliseconds(50) : min(probe.nextDeadline(after: now), now + .milliseconds(50))
        let bound = NIOLoopBound(self, eventLoop: loop)
        timer = loop.scheduleTask(in: .nanoseconds(max(0, (next - now).value))) { bound.value.step() }
    }

    private func finish() {
        finished = true
        timer?.cancel()
        let primaryPort = sockets.first.flatMap { $0.primary.localAddress.port }.map(UInt16.init) ?? 0
        let interfaces = LocalAddresses.subnets().map(\.host)
        let local = interfaces.map { NetAddress(host: $0, port: primaryPort) }
        // A let, not a var: the completion closure below runs concurrently and copies it.
        let facts = mapper.map { NetCheckReport.PortMappingFacts(protocols: $0.probe.answered, granted: $0.mapping) }
        if let mapper, !mapper.probe.settled {
            mapperNote = "some answers still pending after \(max(options.timeout, Self.portMappingBound).seconds) s"
        }
        // Without a second socket the hairpin datagram never left: not tested.
        let hairpin = sockets.contains { $0.secondary != nil } ? probe.hairpinResult : nil
        let (servers, note, key) = (probe.servers, mapperNote, expectedKey)
        var closing: [EventLoopFuture<Void>] = sockets.flatMap {
            [$0.primary.close()] + ($0.secondary.map { [$0.close()] } ?? [])
        }
        if let mapper { closing.append(mapper.stop(grace: .milliseconds(500))) }
        let promise = self.promise
        let tcpChecks = self.tcpChecks
        EventLoopFuture.whenAllComplete(closing, on: loop).whenComplete { _ in
            tcpChecks.whenSuccess { tcp in
                promise.succeed(
                    NetCheckReport.make(
                        probe: servers, hairpin: hairpin, local: local, interfaces: interfaces,
                        portMapping: facts, portMappingNote: note, expectedKey: key, tcp: tcp))
            }
        }
    }

    // MARK: UDPDatagramSink

    func udpEndpoint(_ endpoint: UDPEndpoint, received datagram: ByteBuffer, from address: NetAddress) {
        guard !finished else { return }
        let isPrimary = sockets.contains { $0.primary === endpoint }
        probe.receive(datagram, from: address, socket: isPrimary ? .primary : .secondary, now: EndpointDriver.now())
    }

    func udpEndpointReadBatchComplete(_ endpoint: UDPEndpoint) { step() }

    func udpEndpoint(_ endpoint: UDPEndpoint, writabilityChanged writable: Bool) {}
}

extension SocketAddress {
    fileprivate var isIPv6: Bool { self.protocol == .inet6 }
}
