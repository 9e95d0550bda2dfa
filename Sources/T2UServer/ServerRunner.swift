// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import T2UCore
import T2UNIO

/// The NIO shell around `ServerCore`: the main UDP socket (signaling + relay) and the second
/// observation socket, each once per bound address (IPv4 and IPv6), all on one event loop that
/// owns the core, plus its timer.
public final class ServerRunner: Sendable {
    public struct Options: Sendable {
        /// Addresses to bind both ports to, comma-separated; one socket per address and port
        /// (IPv6 ones IPv6-only). The default serves both families; without IPv6 on the host
        /// the "::" of the default is skipped with a warning.
        public var bindHost = ServerListeners.defaultHosts
        /// Main port; 0 lets the OS choose (tests).
        public var port = 7000
        /// Observation port; nil means port + 1 (or OS-chosen when port is 0).
        public var observationPort: Int?
        /// TCP/TLS fallback port (`--tcp-port`) for agents whose UDP is blocked; nil: none, 0: OS-chosen (tests).
        public var tcpPort: Int?
        /// Bounds of the TCP fallback listener.
        var streamLimits = StreamListener.Limits()
        /// The admin HTTP endpoint (`/metrics`, `/status`); nil (the default) serves none.
        public var admin: AdminAddress?
        /// Share presence with other servers through PostgreSQL (`--database`); nil: in memory.
        /// With it, device bindings live in the database too.
        public var database: PostgresSync.Options?
        /// Keep device bindings in this file (`--bindings-file`) when there is no database.
        public var bindingsFile: String?
        /// Ed25519 public keys of vendor CAs (`--device-ca`): closed enrollment when not empty.
        public var deviceCAs: [[UInt8]] = []
        /// Bearer token of `POST /bindings/release` (`--admin-token-file`); nil: release refused.
        public var adminToken: [UInt8]?
        public init() {}
    }

    public let config: ServerConfig
    public let options: Options
    private let logger: Logger
    private let group: MultiThreadedEventLoopGroup
    private let ownsGroup: Bool
    /// Prometheus export of the core's counters; also usable as a swift-metrics backend
    /// (`PrometheusMetricsFactory(registry: metrics.registry)`).
    package let metrics = ServerMetrics()

    /// What `start` sets up and `shutdown` takes down. Locked: they and the accessors may run
    /// on different tasks; the driver itself is reached only on its loop (`LoopOwned`).
    private struct Running {
        var driver: LoopOwned<ServerDriver>?
        var channels: [Channel] = []
        var adminAddress: SocketAddress?
        var streamAddress: SocketAddress?
        var sync: PostgresSync?
        /// The database's bindings cache (`--bindings-file` with `--database`), if any.
        var bindingsCache: BindingsFileStore?
        var listening: (main: [SocketAddress], observation: [SocketAddress]) = ([], [])
    }
    private let running = NIOLockedValueBox(Running())

    /// Internal: a reload applies its limits through it (ServerConfigReload.swift).
    var driver: LoopOwned<ServerDriver>? { running.withLockedValue { $0.driver } }
    private var sync: PostgresSync? { running.withLockedValue { $0.sync } }
    /// Where the admin endpoint listens once started (nil without `Options.admin`).
    public var adminAddress: SocketAddress? { running.withLockedValue { $0.adminAddress } }
    /// Where the TCP/TLS fallback listens once started (nil without `Options.tcpPort`).
    public var streamAddress: SocketAddress? { running.withLockedValue { $0.streamAddress } }
    /// Every bound main and observation address (one per `Options.bindHost` entry), once started.
    public var listening: (main: [SocketAddress], observation: [SocketAddress]) {
        running.withLockedValue { $0.listening }
    }

    public init(config: ServerConfig, options: Options, logger: Logger, group: MultiThreadedEventLoopGroup? = nil) {
        self.config = config
        self.options = options
        self.logger = logger
        self.ownsGroup = group == nil
        self.group = group ?? MultiThreadedEventLoopGroup(numberOfThreads: 1)
    }

    /// Binds both sockets on every address; returns the first address's (main, observation).
    @discardableResult
    public func start() async throws -> (main: SocketAddress, observation: SocketAddress) {
        let loop = group.next()
        let (loaded, bindingStore, bindingsCache) = try openBindings()
        let (config, options, logger) = (self.config, self.options, self.logger)
        // Built on its loop, so the core never exists outside it.
        let driver = try await loop.submit {
            let registry: Registry =
                options.database == nil
                ? InMemoryRegistry()
                : PostgresRegistry(
                    serverID: config.serverID, refreshInterval: min(.seconds(5), config.presenceTimeout / 4))
            let bindings = PersistentDeviceBindings(deviceCAs: options.deviceCAs, loaded: loaded)
            let driver = ServerDriver(
                core: ServerCore(
                    config: config, registry: registry, bindings: bindings, entropy: SystemEntropy(),
                    now: MonotonicClock.now()),
                eventLoop: loop, logger: logger)
            driver.bindings = bindings
            driver.bindingStore = bindingStore
            driver.adminToken = options.adminToken
            return LoopOwned(driver, eventLoop: loop)
        }.get()
        running.withLockedValue {
            $0.driver = driver
            $0.bindingsCache = bindingsCache
        }
        let hosts = try ServerListeners.hosts(options.bindHost)
        let main = try await bind(hosts: hosts, port: options.port, socket: .main, option: "--port", driver: driver)
        let observationPort = options.observationPort ?? (options.port == 0 ? 0 : options.port + 1)
        let observation: ServerListeners
        do {
            observation = try await bind(
                hosts: hosts, port: observationPort, socket: .observation, option: "--observation-port",
                driver: driver)
        } catch {
            for channel in main.all { try? await channel.close() }
            throw error
        }
        var channels = main.all + observation.all
        let listening = (
            main: main.all.compactMap(\.localAddress), observation: observation.all.compactMap(\.localAddress)
        )
        running.withLockedValue {
            $0.channels = channels
            $0.listening = listening
        }
        if let tcpPort = options.tcpPort {
            // On every address the UDP ports are bound to (both families), one port number.
            var port = tcpPort
            var streamAddress: SocketAddress?
            for host in listening.main.compactMap(\.ipAddress) {
                let channel: Channel
                do {
                    channel = try await StreamListener.bind(
                        host: host, port: port, limits: options.streamLimits, driver: driver)
                } catch {
                    for channel in channels { try? await channel.close() }
                    running.withLockedValue { $0.channels = [] }
                    throw BindFailure(error, transport: "TCP", host: host, port: port, option: "--tcp-port") ?? error
                }
                channels.append(channel)
                if streamAddress == nil {
                    streamAddress = channel.localAddress
                    port = channel.localAddress?.port ?? port
                }
                logger.info(
                    "TCP/TLS fallback listening", metadata: ["tcp": "\(channel.localAddress.map { "\($0)" } ?? "?")"])
            }
            running.withLockedValue { [channels] in
                $0.channels = channels
                $0.streamAddress = streamAddress
            }
        }
        if let admin = options.admin {
            let metrics = self.metrics
            let channel: Channel
            do {
                channel = try await AdminServer.bind(admin, group: group) { request in
                    driver.submit { $0.adminResponse(request, metrics: metrics) }
                }
            } catch {
                for channel in channels { try? await channel.close() }
                running.withLockedValue { $0.channels = [] }
                throw BindFailure(error, transport: "TCP", host: admin.host, port: admin.port, option: "--admin")
                    ?? error
            }
            channels.append(channel)
            running.withLockedValue { [channels] in
                $0.channels = channels
                $0.adminAddress = channel.localAddress
            }
            logger.info(
                "admin endpoint listening", metadata: ["admin": "\(channel.localAddress.map { "\($0)" } ?? "?")"])
        }
        try await driver.submit { driver in
            driver.channels[.main] = main
            driver.channels[.observation] = observation
            driver.rearm()
        }.get()
        guard let mainAddress = main.all.first?.localAddress,
            let observationAddress = observation.all.first?.localAddress
        else {
            throw ChannelError.inappropriateOperationForState
        }
        if let database = options.database {
            do {
                let sync = try await startSync(
                    database, driver: driver, bindingsCache: bindingsCache, mainAddress: mainAddress)
                running.withLockedValue { $0.sync = sync }
            } catch {
                try await shutdown()
                throw error
            }
        }
        logger.info(
            "t2u-server listening",
            metadata: [
                "main": "\(listening.main.map(\.description).joined(separator: ","))",
                "observation": "\(listening.observation.map(\.description).joined(separator: ","))",
                "publicKey": "\(Hex.encode(config.identity.publicKey))",
            ])
        return (mainAddress, observationAddress)
    }

    /// The core's counters, read on its event loop.
    public func counters() async throws -> ServerCounters {
        guard let driver else { return ServerCounters() }
        return try await driver.submit { $0.core.counters }.get()
    }

    /// The TCP fallback listener's counters, read on the core's event loop.
    package func streamCounters() async throws -> StreamCounters {
        guard let driver else { return StreamCounters() }
        return try await driver.submit { driver in
            var counters = driver.streamCounters
            counters.open = driver.streams.count
            return counters
        }.get()
    }

    /// A snapshot of the core (counters and gauges), read on its event loop.
    public func status() async throws -> ServerStatus {
        guard let driver else { throw ChannelError.ioOnClosedChannel }
        return try await driver.submit { $0.status() }.get()
    }

    /// Runs `body` with the device bindings on the core's event loop (tests, diagnostics).
    package func withBindings<T: Sendable>(
        _ body: @escaping @Sendable (PersistentDeviceBindings) -> T
    ) async throws -> T {
        guard let driver else { throw ChannelError.ioOnClosedChannel }
        return try await driver.submit { driver in
            guard let bindings = driver.bindings else { throw ChannelError.ioOnClosedChannel }
            return body(bindings)
        }.get()
    }

    /// NOTIFY payloads the database sync dropped (bad MAC, stale, malformed); 0 without `--database`.
    public var rejectedPeerNotifications: Int { sync?.rejectedNotifications ?? 0 }

    /// Presence rows the database sync skipped because their MAC failed; 0 without `--database`.
    public var rejectedPresenceRows: Int { sync?.rejectedPresenceRows ?? 0 }

    /// Server rows the database sync skipped because their MAC failed; 0 without `--database`.
    public var rejectedServerRows: Int { sync?.rejectedServerRows ?? 0 }

    /// Whether the shared database is reachable now (false without `--database`).
    public var databaseConnected: Bool { sync?.isConnected ?? false }

    /// Forgets the device key bound to `uuid` (operator action: a re-flashed device); false when
    /// none was bound.
    public func releaseBinding(uuid: String) async throws -> Bool {
        guard let driver else { throw ChannelError.ioOnClosedChannel }
        return try await driver.submit { $0.core.bindings.release(uuid: uuid) }.get()
    }

    /// Runs `body` with the registry on the core's event loop (tests, diagnostics).
    package func withRegistry<T: Sendable>(_ body: @escaping @Sendable (Registry) -> T) async throws -> T {
        guard let driver else { throw ChannelError.ioOnClosedChannel }
        return try await driver.submit { body($0.core.registry) }.get()
    }

    /// Closes both sockets and stops the timer; shuts the event loop group down if we made it.
    public func shutdown() async throws {
        let (sync, bindingsCache) = running.withLockedValue { running in
            defer { running.sync = nil }
            return (running.sync, running.bindingsCache)
        }
        if let sync { await sync.stop() }
        let driver = self.driver
        if let driver {
            let bindingStore = try await driver.submit { driver in
                driver.stop()
                return driver.bindingStore
            }.get()
            await bindingStore?.close()
            await bindingsCache?.close()
        }
        let channels = running.withLockedValue { running in
            defer { running.channels = [] }
            return running.channels
        }
        for channel in channels { try? await channel.close() }
        if let driver {
            try? await driver.submit { $0.closeStreams() }.get()
            let counters = try await driver.submit { $0.core.counters }.get()
            logger.info(
                "t2u-server stopped",
                metadata: [
                    "received": "\(counters.datagramsReceived)", "registrations": "\(counters.registrations)",
                    "relayedBytes": "\(counters.relayedBytes)", "rejected": "\(counters.totalRejected)",
                ])
        }
        running.withLockedValue { $0.driver = nil }
        if ownsGroup { try await group.shutdownGracefully() }
    }

    private static let vectorReadCount = 16

    /// The device bindings: from the database (loaded by the sync), the bindings file, or in
    /// memory only (with a warning: a restart forgets which key holds which UUID). With both, the
    /// file is the database's local cache (third value): read at start, rewritten by the sync.
    private func openBindings() throws -> ([DeviceBinding], BindingsFileStore?, BindingsFileStore?) {
        var loaded: [DeviceBinding] = []
        var store: BindingsFileStore?
        var cache: BindingsFileStore?
        if options.database != nil {
            if let path = options.bindingsFile {
                let (fileStore, bindings) = try BindingsFileStore.open(path: path, logger: logger)
                cache = fileStore
                loaded = bindings
                logger.info(
                    "device bindings cache loaded: used until the database's bindings are read, which then hold",
                    metadata: ["file": "\(path)", "bindings": "\(bindings.count)"])
            }
        } else if let path = options.bindingsFile {
            let (fileStore, bindings) = try BindingsFileStore.open(path: path, logger: logger)
            store = fileStore
            loaded = bindings
            logger.info("device bindings loaded", metadata: ["file": "\(path)", "bindings": "\(bindings.count)"])
        } else {
            logger.warning(
                """
                device bindings are kept in memory only and lost at restart (then the first key to register a UUID \
                takes it); use --bindings-file PATH or --database
                """)
        }
        if !options.deviceCAs.isEmpty {
            logger.notice(
                "closed enrollment: devices need a certificate of a configured CA",
                metadata: ["deviceCAs": "\(options.deviceCAs.map(Hex.encode).joined(separator: ","))"])
        }
        return (loaded, store, cache)
    }

    /// Starts the database sync once the main port is known (the advertised address defaults
    /// to it when bound to a specific IP).
    private func startSync(
        _ database: PostgresSync.Options, driver: LoopOwned<ServerDriver>, bindingsCache: BindingsFileStore?,
        mainAddress: SocketAddress
    ) async throws -> PostgresSync {
        // The registry belongs to the core's loop: it is bound there (NIOLoopBound checks that).
        let registry = try await driver.submit { driver -> NIOLoopBound<PostgresRegistry>? in
            (driver.core.registry as? PostgresRegistry).map { NIOLoopBound($0, eventLoop: driver.eventLoop) }
        }.get()
        guard let registry else { preconditionFailure("a server with a database runs a PostgresRegistry") }
        var advertise = config.advertiseAddress
        if advertise == nil, let bound = NetAddress(mainAddress), bound.host != .v4(0), bound.host != .v6(0, 0) {
            advertise = bound
        }
        guard let advertise else {
            throw ServerRunnerError.advertiseRequired(
                "bound to \(options.bindHost): other servers need --advertise HOST:PORT")
        }
        var database = database
        database.presenceTimeout = config.presenceTimeout
        let sync = try PostgresSync(
            options: database, registry: registry, serverID: config.serverID,
            advertise: advertise, logger: logger)
        // The record of a device registered here under `previous` stays until it expires: the
        // registry has no removal by UUID yet (noted in issue 9); its next REGISTER is refused.
        sync.onBindingOverridden = { [logger] uuid, previous in
            logger.warning(
                "the database binds this UUID to another key; the device registered here under the old key loses it",
                metadata: ["uuid": "\(uuid)", "previousKey": "\(Hex.encode(previous))"])
        }
        sync.onPeerIntroduction = { intro in
            let driver = driver.value
            driver.core.receivePeerIntroduction(intro, now: MonotonicClock.now())
            driver.flush()
        }
        try await driver.submit { driver in
            driver.core.config.advertiseAddress = advertise
            driver.peerSink = { sync.send($0) }
            if let bindings = driver.bindings { sync.bindings = NIOLoopBound(bindings, eventLoop: driver.eventLoop) }
        }.get()
        sync.bindingsCache = bindingsCache
        do {
            try await sync.start()
        } catch {
            throw ServerRunnerError.database(
                "cannot use the database \(database.url): \(String(reflecting: error)). Check --database, that PostgreSQL runs "
                    + "and that this user may create tables there")
        }
        logger.info(
            "sharing presence through PostgreSQL",
            metadata: [
                "database": "\(database.url)", "serverID": "\(config.serverID)", "advertise": "\(advertise)",
            ])
        return sync
    }

    /// One socket per host, all on one port (port 0: the first host's OS-chosen port for all).
    /// `option`: the flag that sets this port, named when it cannot be bound (e.g. in use).
    private func bind(
        hosts: [String], port: Int, socket: ServerSocket, option: String, driver: LoopOwned<ServerDriver>
    )
        async throws -> ServerListeners
    {
        var listeners = ServerListeners()
        var port = port
        for host in hosts {
            do {
                let channel = try await bindDatagram(host: host, port: port, socket: socket, driver: driver)
                listeners.add(channel)
                if port == 0, let bound = channel.localAddress?.port { port = bound }
            } catch {
                if ServerListeners.isIPv6Unavailable(error, host: host, given: options.bindHost) {
                    logger.warning(
                        "IPv6 is not available on this host: serving IPv4 only", metadata: ["error": "\(error)"])
                    continue
                }
                for channel in listeners.all { try? await channel.close() }
                throw BindFailure(error, transport: "UDP", host: host, port: port, option: option) ?? error
            }
        }
        guard !listeners.all.isEmpty else { throw ServerRunnerError.noAddress(options.bindHost) }
        return listeners
    }

    private func bindDatagram(
        host: String, port: Int, socket: ServerSocket, driver: LoopOwned<ServerDriver>
    ) async throws -> Channel {
        // On the driver's loop: the handler calls it directly.
        var bootstrap = DatagramBootstrap(group: driver.eventLoop)
        if host.contains(":") {
            // One socket per family: an IPv6 socket must leave IPv4 to the IPv4 one.
            bootstrap = bootstrap.channelOption(
                ChannelOptions.Types.SocketOption(level: .ipv6, name: .ipv6_v6only), value: 1)
        }
        return
            try await bootstrap
            // Batch receives (recvmmsg): the allocator's buffer is split among the messages.
            .channelOption(.datagramVectorReadMessageCount, value: Self.vectorReadCount)
            .channelOption(
                .recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: Self.vectorReadCount * 2048)
            )
            .channelOption(.socketOption(.so_rcvbuf), value: 4 << 20)
            .channelOption(.socketOption(.so_sndbuf), value: 4 << 20)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        ServerDatagramHandler(driver: driver.value, socket: socket))
                }
            }
            .bind(host: host, port: port)
            .get()
    }
}

public enum ServerRunnerError: Error, CustomStringConvertible {
    case advertiseRequired(String)
    case database(String)
    case noAddress(String)
    case badBindAddress(given: String, host: String)

    public var description: String {
        switch self {
        case .advertiseRequired(let detail): return "cannot share presence without an advertised address: \(detail)"
        case .database(let detail): return detail
        case .noAddress(let given):
            return "no address of --bind '\(given)' could be bound: give one this host has (0.0.0.0, ::)"
        case .badBindAddress(let given, let host):
            return "--bind '\(given)': '\(host)' is not an IP address; give addresses separated by commas (0.0.0.0,::)"
        }
    }
}
