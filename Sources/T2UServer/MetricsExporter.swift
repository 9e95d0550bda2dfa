import Prometheus
import T2UCore

/// Exports `ServerStatus` snapshots as Prometheus metrics. The core keeps plain counters
/// (sans-IO); each scrape moves the Prometheus counters by the difference since the last one
/// and sets the gauges. `registry` can also back swift-metrics (`PrometheusMetricsFactory`), so
/// other libraries' metrics appear on the same `/metrics`.
/// Not thread-safe: one caller at a time (the admin endpoint renders on the core's event loop).
public final class ServerMetrics: @unchecked Sendable {
    public let registry: PrometheusCollectorRegistry
    private var exported = ServerCounters()
    private var plain: [String: Counter] = [:]
    private var rejected: [RejectReason: Counter] = [:]
    private var punchOutcomes: [PunchOutcome: Counter] = [:]
    private let gauges: [(KeyPath<ServerGauges, Int?>, Gauge)]
    private let uptime: Gauge
    private var info: Gauge?

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        func gauge(_ name: String, _ help: String) -> Gauge {
            registry.makeGauge(descriptor: Self.name(name, unit: "", help: help))
        }
        gauges = [
            (\.devicesOnline, gauge("devices_online", "Devices registered now.")),
            (\.clientsOnline, gauge("clients_online", "Clients registered now.")),
            (\.registrations.optional, gauge("agents_online", "Agents (devices and clients) registered now.")),
            (\.sessions.optional, gauge("sessions", "Connect sessions held now.")),
            (\.relaySessions.optional, gauge("relay_sessions", "Sessions whose packets the relay has forwarded.")),
            (\.trackedSources.optional, gauge("tracked_sources", "Source addresses tracked by the signaling rate limiter.")),
        ]
        uptime = gauge("uptime_seconds", "Seconds since the server started.")
        for (name, _) in ServerCounters().named {
            plain[name] = registry.makeCounter(descriptor: Self.name(name, unit: "total", help: Self.help[name] ?? name),
                                               labels: [])
        }
        for reason in RejectReason.allCases {
            rejected[reason] = registry.makeCounter(
                descriptor: Self.name("rejected_packets", unit: "total", help: "Datagrams dropped, by reason."),
                labels: [("reason", reason.rawValue)])
        }
    }

    /// Moves the metrics to `status`.
    public func update(_ status: ServerStatus) {
        if info == nil {
            let gauge = registry.makeGauge(
                descriptor: Self.name("info", unit: "", help: "Server version and ID (value 1)."),
                labels: [("version", ServerStatus.version), ("server_id", status.serverID)])
            gauge.set(Int64(1))
            info = gauge
        }
        uptime.set(status.uptimeSeconds)
        for (path, gauge) in gauges {
            if let value = status.gauges[keyPath: path] { gauge.set(Int64(value)) }
        }
        let now = status.counters
        for ((name, value), (_, old)) in zip(now.named, exported.named) {
            plain[name]?.increment(by: Self.delta(value, old))
        }
        for reason in RejectReason.allCases {
            rejected[reason]?.increment(by: Self.delta(now[reason], exported[reason]))
        }
        for (outcome, value) in now.punchOutcomes {
            let counter = punchOutcomes[outcome] ?? makePunchCounter(outcome)
            counter.increment(by: Self.delta(value, exported.punchOutcomes[outcome] ?? 0))
        }
        exported = now
    }

    /// The Prometheus text exposition of `status` (the body of `GET /metrics`).
    public func render(_ status: ServerStatus) -> [UInt8] {
        update(status)
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return buffer
    }

    private func makePunchCounter(_ outcome: PunchOutcome) -> Counter {
        let counter = registry.makeCounter(
            descriptor: Self.name("punch_outcomes", unit: "total",
                                  help: "Sessions by the path they settled on and the NAT behaviours of client and device."),
            labels: [("client_nat", outcome.clientNAT), ("device_nat", outcome.deviceNAT), ("path", outcome.path.label)])
        punchOutcomes[outcome] = counter
        return counter
    }

    /// Counters only grow; a smaller value (never expected) exports nothing rather than trapping.
    private static func delta(_ new: UInt64, _ old: UInt64) -> Int64 {
        new > old ? Int64(clamping: new - old) : 0
    }

    private static func name(_ metric: String, unit: String, help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "t2u", subsystem: "server", metricName: metric, unitName: unit, helpText: help)
    }

    private static let help: [String: String] = [
        "datagrams_received": "Datagrams received on both UDP ports.",
        "signaling_replies": "Signaling replies sent.",
        "registrations": "Successful REGISTERs (devices and clients).",
        "expirations": "Registrations expired for lack of keepalives.",
        "introductions": "INTRODUCE messages sent to devices (retransmissions included).",
        "queries": "QUERY requests answered.",
        "connects": "CONNECT requests that created a session.",
        "relay_packets": "Transport packets relayed.",
        "relay_bytes": "Transport bytes relayed.",
        "path_reports": "PATH_REPORTs counted into punch outcomes.",
        "peer_introductions_sent": "CONNECTs for devices homed on another server, passed to it.",
        "peer_introductions_received": "Introductions taken from peer servers for devices homed here.",
        "relay_unknown_sent": "RELAY_UNKNOWN replies to relayed packets of sessions this server does not have.",
        "relay_resumes": "Relay sessions restored by a client after a server restart (CONNECT with resume).",
    ]
}

extension Int {
    fileprivate var optional: Int? { self }
}
