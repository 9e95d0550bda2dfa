// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Logging
import NIOCore
import NIOPosix
import T2UCore
import T2UNIO

/// The device agent: registers with the server, keeps alive, accepts sessions, opens the
/// requested TCP connection on the device side of each stream (per policy), answers discovery.
///
/// One event loop of the caller's group (the shared `MultiThreadedEventLoopGroup.singleton` by
/// default) carries everything: the UDP socket shared by signaling and transport (DESIGN: the
/// server observes the very NAT mapping that peers use), the TCP connections of the tunnels,
/// and the discovery socket.
public final class DeviceAgent: Sendable {
    private let options: DeviceAgentOptions
    private let eventLoopGroup: any EventLoopGroup
    private let identity: StaticIdentity
    /// `options.serverKey` parsed; nil: not pinned.
    private let serverPublicKey: [UInt8]?
    private let policy: ForwardingPolicy
    private let logger: Logger
    private let lifecycle = Lifecycle()

    /// Loads (or creates) the key in `options.statePath` and checks the options; throws
    /// `DeviceAgentError` naming what is wrong. The agent runs on one loop of `eventLoopGroup`,
    /// which the caller owns (and keeps running until `shutdown` returned).
    public init(
        options: DeviceAgentOptions, logger: Logger = Logger(label: "t2u.device"),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) throws {
        self.options = options
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
        do {
            policy = try ForwardingPolicy(entries: options.allow)
        } catch {
            switch error {
            case .invalidEntry(let entry, let reason): throw DeviceAgentError.invalidAllowEntry(entry, reason: reason)
            }
        }
        let entropy = SystemEntropy()
        if let path = options.statePath {
            do {
                identity = try KeyFile.loadOrCreate(path: path, what: "state file", entropy: entropy)
            } catch {
                throw DeviceAgentError.stateFile(error)
            }
        } else {
            identity = StaticIdentity.generate(entropy)
        }
        do {
            serverPublicKey = try ServerPublicKey.parse(options.serverKey)
        } catch {
            throw DeviceAgentError.invalidOptions(ServerPublicKey.requirement)
        }
        var probe = SignalingClientConfig(
            role: .device, uuid: options.uuid, identity: identity, extra: Array(options.extra.utf8),
            serverPublicKey: serverPublicKey, server: NetAddress(ipv4: (127, 0, 0, 1), port: 1))
        probe.certificate = options.certificate
        probe.rotatingFrom = options.rotatingFrom
        do {
            try probe.validate()
        } catch {
            throw DeviceAgentError.invalidOptions(Self.describe(error))
        }
    }

    /// Binds sockets and starts registering; returns once bound (registration continues).
    public func start() async throws {
        try await lifecycle.begin()
        do {
            let running = try await launch(on: eventLoopGroup.next())
            guard await lifecycle.started(running) else {
                await running.shutdown()  // shut down while starting
                throw DeviceAgentError.shutDown
            }
        } catch {
            await lifecycle.failed()
            throw error
        }
    }

    /// Everything it opened is closed again when it throws (the loop is not ours to stop).
    private func launch(on loop: any EventLoop) async throws -> RunningDevice {
        let servers = try resolveServers()
        let server = servers[0]
        let entropy = SystemEntropy()
        let endpoint = TransportEndpoint(
            options: .init(
                config: options.transport, identity: identity, acceptIncoming: true,
                password: options.password.map { Array($0.utf8) }),
            entropy: entropy)
        let driver = EndpointDriver(endpoint: endpoint, eventLoop: loop, logger: logger)
        driver.sendFaultInjector = options.sendFaultInjector
        let owned = LoopOwned(sending: driver, eventLoop: loop)
        var udp = UDPEndpoint.Configuration()
        udp.host = "::"  // dual-stack: IPv4 and IPv6 servers and peers
        udp.port = Int(options.udpPort)
        let bound = try await owned.flatSubmit { [udp] in $0.start(udp: udp) }.get()
        if bound.protocol == .inet, servers.contains(where: \.isIPv6) {
            logger.warning(
                "this host has no IPv6 (the agent's socket is IPv4 only): the IPv6 servers listed cannot be reached",
                metadata: ["servers": "\(servers.filter(\.isIPv6).map(\.description).joined(separator: ","))"])
        }
        let subnets: @Sendable () -> [LocalSubnet]
        if let fixed = options.localSubnets {
            subnets = { fixed }
        } else {
            subnets = { LocalAddresses.subnets() }
        }
        var running: RunningDevice?
        do {
            let port = UInt16(bound.port ?? 0)
            var config = SignalingClientConfig(
                role: .device, uuid: options.uuid, identity: identity, extra: Array(options.extra.utf8),
                candidates: LocalAddresses.candidates(port: port, server: server),
                serverPublicKey: serverPublicKey, server: server,
                observationServer: server.port < UInt16.max ? NetAddress(host: server.host, port: server.port + 1) : nil
            )
            config.certificate = options.certificate
            config.rotatingFrom = options.rotatingFrom
            config.fallbackServers = Array(servers.dropFirst())
            config.classifiesNAT = true
            let (options, policy, logger) = (self.options, self.policy, self.logger)
            let mapsPort = options.portMapping && !server.host.isLoopback
            // Built on its loop, so the runtime never exists outside it.
            let runtime = try await loop.submit { [config] in
                let driver = owned.value
                let runtime = DeviceRuntime(driver: driver, policy: policy, logger: logger)
                runtime.onRegistered = options.onRegistered
                runtime.traversalConfig = options.traversal
                runtime.localSubnets = subnets
                runtime.attach(try SignalingClient(config: config, entropy: entropy, now: EndpointDriver.now()))
                if let streamOptions = options.serverStream { try driver.attachServerStream(streamOptions) }
                if mapsPort { runtime.startPortMapping(port: port, candidates: config.candidates) }
                return LoopOwned(runtime, eventLoop: loop)
            }.get()
            let device = RunningDevice(runtime: runtime, logger: logger)
            running = device
            if let group = options.discoveryAddress {
                let discovery = try await DiscoveryResponder.start(
                    group: loop, port: options.discoveryPort, multicastGroup: group,
                    ipv6Group: options.discoveryAddressIPv6,
                    uuid: options.uuid, agentPort: port, subnets: subnets, logger: logger)
                try await runtime.submit { $0.discovery = discovery }.get()
            }
            logger.info(
                "device agent started",
                metadata: [
                    "uuid": "\(options.uuid)", "udp": "\(bound)",
                    "servers": "\(servers.map(\.description).joined(separator: ","))",
                    "publicKey": "\(Hex.encode(identity.publicKey))",
                ])
            return device
        } catch {
            let discovery = (try? await running?.onLoop { $0.discovery }) ?? []
            for channel in discovery { try? await channel.close().get() }
            try? await owned.flatSubmit { $0.close() }.get()
            throw error
        }
    }

    /// The servers' addresses: `options.server` may list several (`h1:p1,h2:p2`) or name a host
    /// resolving to several; registration moves along the list when one stops answering.
    private func resolveServers() throws -> [NetAddress] {
        do {
            return try ServerAddressList.resolve(options.server, defaultPort: options.serverPort)
        } catch {
            throw DeviceAgentError.serverUnresolvable(options.server)
        }
    }

    /// Registered with the server.
    public func isRegistered() async -> Bool {
        guard let running = await lifecycle.running else { return false }
        return (try? await running.onLoop { $0.isRegistered }) ?? false
    }

    /// The device's static public key (what clients pin).
    public var publicKey: [UInt8] { identity.publicKey }

    /// What the punch budget let through and refused so far (docs/SECURITY.md §4).
    public func punchCounters() async -> PunchBudget.Counters? {
        guard let running = await lifecycle.running else { return nil }
        return try? await running.onLoop { $0.punchCounters }
    }

    /// Sessions currently open.
    public func sessionCount() async -> Int {
        guard let running = await lifecycle.running else { return 0 }
        return (try? await running.onLoop { $0.sessionCount }) ?? 0
    }

    /// The UUID it registers.
    public var uuid: String { options.uuid }

    /// The password clients need from now on (a reload of `--password-file`): new handshakes
    /// require it, open sessions keep going. Never empty, never removed (fail closed).
    public func update(password: String) async throws {
        guard !password.isEmpty else {
            throw DeviceAgentError.invalidOptions("the new password is empty; the running one stays")
        }
        guard let running = await lifecycle.running else { throw DeviceAgentError.notRunning }
        let bytes = Array(password.utf8)
        try await running.onLoop { $0.update(password: bytes) }
    }

    /// The vendor certificate of the next registration (a reload of `--cert`); the current
    /// registration stays. The caller checks it covers this UUID and key (`DeviceCertificateFile`).
    public func update(certificate: [UInt8]) async throws {
        guard let running = await lifecycle.running else { throw DeviceAgentError.notRunning }
        do {
            try await running.onLoop { try $0.update(certificate: certificate) }
        } catch let error as SignalingClientConfig.Invalid {
            throw DeviceAgentError.invalidOptions(Self.describe(error))
        }
    }

    /// Closes sessions (telling peers) and sockets. Idempotent.
    public func shutdown() async {
        guard let running = await lifecycle.stop() else { return }
        await running.shutdown()
        logger.info("device agent stopped")
    }

    private static func describe(_ error: SignalingClientConfig.Invalid) -> String {
        switch error {
        case .uuidLength: return DeviceUUID.requirement
        case .serverPublicKey: return ServerPublicKey.requirement
        case .certificateTooLong: return "the certificate must be 1...\(SignalingLimits.maxCertificateLength) bytes"
        case .publicKeyLength: return "the public key must be \(SignalingLimits.publicKeyLength) bytes"
        case .extraTooLong: return "--extra must be at most \(SignalingLimits.maxExtraLength) UTF-8 bytes"
        case .tooManyCandidates: return "too many LAN candidates"
        }
    }
}

/// Start/stop bookkeeping, so concurrent calls see one consistent state.
private actor Lifecycle {
    enum State {
        case idle, starting
        case running(RunningDevice)
        case stopped
    }
    private var state = State.idle

    var running: RunningDevice? {
        if case .running(let running) = state { return running }
        return nil
    }

    func begin() throws(DeviceAgentError) {
        switch state {
        case .idle: state = .starting
        case .starting, .running: throw .alreadyStarted
        case .stopped: throw .shutDown
        }
    }

    /// false when `stop` came first.
    func started(_ running: RunningDevice) -> Bool {
        guard case .starting = state else { return false }
        state = .running(running)
        return true
    }

    func failed() {
        if case .starting = state { state = .idle }
    }

    func stop() -> RunningDevice? {
        defer { state = .stopped }
        return running
    }
}
