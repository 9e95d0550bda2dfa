// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Logging
import NIOCore
import NIOPosix
import Synchronization
import T2UCore
import T2UNIO

/// The client SDK: connects to the server cloud in the background, maps devices' TCP ports to
/// local ports over P2P links (direct, LAN or relayed), keeps them up with retries, and reports
/// status, rates and events. Thread safe; every method may be called from any thread/task.
///
/// One event loop of the caller's group (the shared `MultiThreadedEventLoopGroup.singleton` by
/// default) owns all state (`ClientCore`); the public methods hop onto it, and `LoopOwned`
/// checks that only code on it touches the core.
public final class T2UClient: Sendable {
    /// A group this client made for itself and stops at `shutdown` (the C library's).
    private let ownedGroup: MultiThreadedEventLoopGroup?
    private let core: LoopOwned<ClientCore>
    private let options: T2UClientOptions
    private let eventStream: AsyncStream<T2UClientEvent>
    private let shutDown = Mutex(false)
    /// Events kept for a consumer of `events` that lags (or never reads): the newest win.
    static let eventBufferLimit = 1024

    /// Starts the SDK on one loop of `eventLoopGroup`, which the caller owns (and keeps running
    /// until `shutdown` returned): binds its UDP socket and registers with the server in the
    /// background.
    public convenience init(
        options: T2UClientOptions, eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws {
        try await self.init(options: options, loop: eventLoopGroup.next(), ownedGroup: nil)
    }

    /// A client on a thread of its own, stopped by `shutdown`: what the C library runs, so
    /// `t2u_exit` leaves no thread behind in the caller's process.
    package static func onOwnThread(options: T2UClientOptions) async throws -> T2UClient {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        do {
            return try await T2UClient(options: options, loop: group.next(), ownedGroup: group)
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
    }

    private init(options: T2UClientOptions, loop: any EventLoop, ownedGroup: MultiThreadedEventLoopGroup?) async throws
    {
        let logger = Logger(label: "t2u.client")
        guard options.pathPolicy(relay: NetAddress(ipv4: (0, 0, 0, 0), port: 0)) != nil else {
            throw T2UClientError.invalidArgument(
                "relayDisabled (direct only) excludes directDisabled and relayFirst: choose one")
        }
        let servers: [NetAddress]
        do {
            servers = try ServerAddressList.resolve(options.server, defaultPort: options.serverPort)
        } catch {
            throw T2UClientError.invalidArgument("server \(options.server): \(error)")
        }
        let (stream, continuation) = AsyncStream<T2UClientEvent>.makeStream(
            bufferingPolicy: .bufferingNewest(Self.eventBufferLimit))
        eventStream = stream
        self.options = options
        self.ownedGroup = ownedGroup
        let core: LoopOwned<ClientCore>
        do {
            // Built on its loop, so the core never exists outside it.
            core = try await loop.submit {
                LoopOwned(
                    try ClientCore(
                        options: options, loop: loop, servers: servers, continuation: continuation, logger: logger),
                    eventLoop: loop)
            }.get()
        } catch {
            continuation.finish()
            throw error
        }
        do {
            try await core.flatSubmit { $0.start() }.get()
        } catch {
            // The loop is not ours to stop: close what the core opened.
            _ = try? await core.flatSubmit { $0.shutdown() }.get()
            throw error
        }
        self.core = core
    }

    /// `OnConnect`/`OnDisconnect`, in order. One stream per client (a single consumer); it
    /// keeps the newest `eventBufferLimit` events for a consumer that lags.
    public var events: AsyncStream<T2UClientEvent> { eventStream }

    /// The same events delivered on an SDK thread (the C callbacks); nil removes it. Must not block.
    public func setEventHandler(_ handler: (@Sendable (T2UClientEvent) -> Void)?) {
        guard !isShutDown else { return }
        core.execute { $0.setEventHandler(handler) }
    }

    private var isShutDown: Bool { shutDown.withLock { $0 } }

    /// Runs `body` on the SDK thread; nil once shut down.
    func onLoop<T: Sendable>(_ body: @escaping @Sendable (ClientCore) -> T) async -> T? {
        guard !isShutDown else { return nil }
        return try? await core.submit { $0.isShutDown ? nil : body($0) }.get()
    }

    public func status() async -> ServerConnectionStatus {
        await onLoop { $0.status } ?? .connecting
    }

    /// Set while the server has not answered our registration: to say so instead of "connecting".
    public func serverSilence() async -> ServerSilence? {
        await onLoop { $0.signaling.silence(now: EndpointDriver.now()) } ?? nil
    }

    public func query(_ uuid: String) async throws(T2UClientError) -> DeviceInfo {
        guard !isShutDown else { throw .shutDown }
        guard DeviceUUID.isValid(uuid) else { throw .invalidArgument(DeviceUUID.requirement) }
        let promise = core.eventLoop.makePromise(of: DeviceInfo.self)
        core.execute { core in
            guard !core.isShutDown else { return promise.fail(T2UClientError.shutDown) }
            core.query(uuid) { result in
                switch result {
                case .success(let info):
                    var keyChange: DeviceKeyChange?
                    if info.online, case .changed(let change) = core.checkDeviceKey(info.publicKey, for: uuid) {
                        keyChange = change
                    }
                    promise.succeed(
                        DeviceInfo(
                            online: info.online, extra: String(decoding: info.extra, as: UTF8.self),
                            publicIP: info.online ? (info.publicAddress?.hostString ?? "") : "", keyChange: keyChange))
                case .failure(let failure):
                    promise.fail(T2UClientError.queryFailed("\(failure)"))
                }
            }
        }
        do {
            return try await promise.futureResult.get()
        } catch let error as T2UClientError {
            throw error
        } catch {
            throw .queryFailed("\(error)")
        }
    }

    /// Opens the local port at once (throws `.localPortUnavailable`) and builds the link in the
    /// background. Returns the local port.
    public func addPort(_ request: PortMappingRequest) async throws(T2UClientError) -> UInt16 {
        guard !isShutDown else { throw .shutDown }
        guard DeviceUUID.isValid(request.uuid) else { throw .invalidArgument(DeviceUUID.requirement) }
        do {
            return try await core.flatSubmit { core in
                core.isShutDown ? core.loop.makeFailedFuture(T2UClientError.shutDown) : core.addPort(request)
            }.get()
        } catch let error as T2UClientError {
            throw error
        } catch {
            throw .shutDown
        }
    }

    /// Closes the local port and every connection through it (no-op for an unknown port).
    public func deletePort(_ localPort: UInt16) async {
        _ = await onLoop { $0.deletePort(localPort) }
    }

    public func portStatus(_ localPort: UInt16) async -> (PortStatus, PathInfo?) {
        await onLoop { core -> (PortStatus, PathInfo?) in
            guard let port = core.ports[localPort] else { return (.noSuchPort, nil) }
            return (port.status, port.pathInfo)
        } ?? (.noSuchPort, nil)
    }

    /// Rates of one port, or of all ports for 0; nil for an unknown port.
    public func rate(_ localPort: UInt16) async -> RateInfo? {
        await onLoop { core -> RateInfo? in
            if localPort == 0 { return RateMeter.sum(core.ports.values.map(\.rate)) }
            return core.ports[localPort]?.rate
        } ?? nil
    }

    /// LAN discovery: devices that answered within `timeout`.
    public func search(timeout: Nanos) async throws(T2UClientError) -> [DiscoveredDevice] {
        guard !isShutDown else { throw .shutDown }
        return try await Self.search(
            address: options.discoveryAddress, ipv6Group: options.discoveryAddressIPv6,
            port: options.discoveryPort, timeout: timeout)
    }

    /// LAN discovery without an SDK instance: it needs no server (`t2u_search` before
    /// `t2u_init`). The probe goes to `address:port` (the discovery group by default) and, when
    /// given, to the IPv6 group on every IPv6 interface; a device answering on both is listed
    /// once, with its IPv4 address.
    public static func search(
        address: String, ipv6Group: String? = nil, port: UInt16,
        timeout: Nanos
    ) async throws(T2UClientError) -> [DiscoveredDevice] {
        do {
            return try await LANSearch.run(
                on: MultiThreadedEventLoopGroup.singleton.next(), addresses: [address] + (ipv6Group.map { [$0] } ?? []),
                port: port, timeout: timeout
            ).get()
        } catch let error as T2UClientError {
            throw error
        } catch {
            throw .queryFailed("search: \(error)")
        }
    }

    /// Closes every port and link (and stops the thread of a client that has one of its own);
    /// the object is unusable afterwards.
    public func shutdown() async {
        let first = shutDown.withLock { done -> Bool in
            defer { done = true }
            return !done
        }
        guard first else { return }
        _ = try? await core.flatSubmit { $0.shutdown() }.get()
        try? await ownedGroup?.shutdownGracefully()
    }
}
