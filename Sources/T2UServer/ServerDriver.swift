// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Logging
import NIOCore
import T2UCore
import T2UNIO

/// Owns the core on its event loop: feeds datagrams in, writes transmits out, keeps one timer.
/// Not Sendable: it lives on its loop, and `ServerRunner` reaches it through `LoopOwned`.
final class ServerDriver {
    let core: ServerCore
    let eventLoop: EventLoop
    let logger: Logger
    /// Registrations, expiries, relay sessions and (rate-limited) rejections at info.
    var activityLog: ActivityLog
    var channels: [ServerSocket: ServerListeners] = [:]
    /// Where introductions for peer servers go (the database sync); nil without one.
    var peerSink: ((PeerIntroduction) -> Void)?
    /// UUID -> device key bindings (docs/SECURITY.md §1); the database sync drains their
    /// changes itself, the bindings file store is fed here.
    var bindings: PersistentDeviceBindings?
    var bindingStore: BindingsFileStore?
    var adminToken: [UInt8]?
    /// Upgraded TCP fallback streams by the peer address the core knows them by.
    var streams: [NetAddress: StreamPeer] = [:]
    /// Accepted TCP fallback connections, upgraded or not (bounded by `maxConnections`).
    var streamConnections = 0
    var streamCounters = StreamCounters()
    private var timer: Scheduled<Void>?
    private var timerAt: Instant?
    private var stopped = false
    private let startedAt = MonotonicClock.now()

    init(core: ServerCore, eventLoop: EventLoop, logger: Logger) {
        self.core = core
        self.eventLoop = eventLoop
        self.logger = logger
        self.activityLog = ActivityLog(logger: logger)
    }

    func status() -> ServerStatus {
        var status = ServerStatus(
            serverID: core.config.serverID, uptimeSeconds: Double((MonotonicClock.now() - startedAt).value) / 1e9,
            counters: core.counters, gauges: core.gauges)
        status.limits = core.config.limits
        return status
    }

    /// The admin endpoint's routes, answered on the core's loop.
    func adminResponse(_ request: AdminRequest, metrics: ServerMetrics) -> AdminResponse {
        if request.path == BindingsAdmin.showPath || request.path == BindingsAdmin.releasePath, let bindings {
            defer { persistBindings() }
            return BindingsAdmin(bindings: bindings, token: adminToken, logger: logger).respond(request)
        }
        guard request.isRead else { return .text(.methodNotAllowed, "only GET\n") }
        switch request.path {
        case "/metrics":
            return AdminResponse(
                status: .ok, contentType: "text/plain; version=0.0.4; charset=utf-8",
                body: metrics.render(status()))
        case "/status":
            return AdminResponse(status: .ok, contentType: "application/json", body: Array(status().json().utf8))
        case "/", "/dashboard":
            let now = MonotonicClock.now()
            let page = DashboardPage.html(
                core.dashboard(now: now, uptimeSeconds: Double((now - startedAt).value) / 1e9))
            return AdminResponse(
                status: .ok, contentType: "text/html; charset=utf-8", body: Array(page.utf8),
                headers: DashboardPage.headers)
        default:
            return .text(.notFound, "not found: try /dashboard, /metrics, /status or /bindings?uuid=UUID\n")
        }
    }

    func received(_ envelope: AddressedEnvelope<ByteBuffer>, on socket: ServerSocket) {
        guard let source = NetAddress(envelope.remoteAddress) else { return }
        received(envelope.data, from: source, on: socket)
    }

    func received(_ datagram: ByteBuffer, from source: NetAddress, on socket: ServerSocket) {
        let rejectedBefore = core.counters.rejectedCount
        let now = MonotonicClock.now()
        core.receive(datagram, from: source, on: socket, now: now)
        if core.counters.rejectedCount != rejectedBefore, let reason = core.counters.lastRejected {
            activityLog.rejected(reason, from: source, now: now)
        }
        logActivity()
    }

    /// The core's registrations, expiries and relay sessions, at info.
    func logActivity() {
        for entry in core.pollActivity() { activityLog.write(entry) }
    }

    /// Writes everything the core has to send, then flushes the sockets that were written to.
    func flush() {
        guard !stopped else { return }
        let now = MonotonicClock.now()
        var written: Set<ServerSocket> = []
        var streamsWritten: [ObjectIdentifier: StreamPeer] = [:]
        let anyStreams = !streams.isEmpty
        while let (datagram, transmit) = core.pollDatagram(now: now) {
            if anyStreams,
                sendOnStream(datagram, to: transmit.destination, socket: transmit.socket, written: &streamsWritten)
            {
                continue
            }
            guard let channel = channels[transmit.socket]?.channel(for: transmit.destination) else { continue }
            let envelope = AddressedEnvelope(remoteAddress: SocketAddress(transmit.destination), data: datagram)
            channel.write(envelope, promise: nil)
            written.insert(transmit.socket)
        }
        for socket in written { channels[socket]?.flush() }  // every family's
        for peer in streamsWritten.values { peer.flush() }
        while let intro = core.pollPeerIntroduction() { peerSink?(intro) }
        persistBindings()
        rearm()
    }

    /// Hands new binding changes to the bindings file (write-behind, off the loop).
    func persistBindings() {
        guard let bindingStore, let bindings, bindings.pendingChanges > 0 else { return }
        bindingStore.persist(bindings.takeChanges())
    }

    func rearm() {
        guard !stopped, let deadline = core.nextDeadline() else { return }
        if let timerAt, timerAt <= deadline, timer != nil { return }
        timer?.cancel()
        timerAt = deadline
        let delay = max(Nanos.zero, deadline - MonotonicClock.now())
        timer = eventLoop.assumeIsolated().scheduleTask(in: .nanoseconds(delay.value)) { [self] in
            timer = nil
            timerAt = nil
            core.handleTimeout(now: MonotonicClock.now())
            logActivity()
            flush()
        }
    }

    func stop() {
        stopped = true
        timer?.cancel()
        timer = nil
    }
}
