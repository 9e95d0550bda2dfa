// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOConcurrencyHelpers
import Prometheus
import T2UCore

/// Exports `ServerStatus` snapshots as Prometheus metrics. The core keeps plain counters
/// (sans-IO); each scrape moves the Prometheus counters by the difference since the last one
/// and sets the gauges. `registry` can also back swift-metrics (`PrometheusMetricsFactory`), so
/// other libraries' metrics appear on the same `/metrics`.
/// Safe from any thread: a scrape's difference and its counters move under one lock.
package final class ServerMetrics: Sendable {
    package let registry: PrometheusCollectorRegistry
    private let gauges: [Exported]
    private let uptime: Gauge
    /// What the last scrape exported, and the counters made on the way.
    private struct State {
        var exported = ServerCounters()
        var plain: [String: Counter] = [:]
        var rejected: [RejectReason: Counter] = [:]
        var punchOutcomes: [PunchOutcome: Counter] = [:]
        var info: Gauge?
    }
    private let state: NIOLockedValueBox<State>

    /// A gauge and the status field it shows.
    private struct Exported: Sendable {
        let read: @Sendable (ServerGauges) -> Int?
        let gauge: Gauge
    }

    package init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        func gauge(_ name: String, _ help: String, _ read: @escaping @Sendable (ServerGauges) -> Int?) -> Exported {
            Exported(read: read, gauge: registry.makeGauge(descriptor: Self.name(name, unit: "", help: help)))
        }
        gauges = [
            gauge("devices_online", "Devices registered now.") { $0.devicesOnline },
            gauge("clients_online", "Clients registered now.") { $0.clientsOnline },
            gauge("agents_online", "Agents (devices and clients) registered now.") { $0.registrations },
            gauge("sessions", "Connect sessions held now.") { $0.sessions },
            gauge("relay_sessions", "Sessions whose packets the relay has forwarded.") { $0.relaySessions },
            gauge("tracked_sources", "Source addresses tracked by the signaling rate limiter.") { $0.trackedSources },
        ]
        uptime = registry.makeGauge(
            descriptor: Self.name("uptime_seconds", unit: "", help: "Seconds since the server started."))
        var initial = State()
        for (name, _) in ServerCounters().named {
            initial.plain[name] = registry.makeCounter(
                descriptor: Self.name(name, unit: "total", help: Self.help[name] ?? name),
                labels: [])
        }
        for reason in RejectReason.allCases {
            initial.rejected[reason] = registry.makeCounter(
                descriptor: Self.name("rejected_packets", unit: "total", help: "Datagrams dropped, by reason."),
                labels: [("reason", reason.rawValue)])
        }
        state = NIOLockedValueBox(initial)
    }

    /// Moves the metrics to `status`.
    package func update(_ status: ServerStatus) {
        state.withLockedValue { state in
            if state.info == nil {
                let gauge = registry.makeGauge(
                    descriptor: Self.name("info", unit: "", help: "Server version and ID (value 1)."),
                    labels: [("version", ServerStatus.version), ("server_id", status.serverID)])
                gauge.set(Int64(1))
                state.info = gauge
            }
            uptime.set(status.uptimeSeconds)
            for exported in gauges {
                if let value = exported.read(status.gauges) { exported.gauge.set(Int64(value)) }
            }
            let now = status.counters
            for ((name, value), (_, old)) in zip(now.named, state.exported.named) {
                state.plain[name]?.increment(by: Self.delta(value, old))
            }
            for reason in RejectReason.allCases {
                state.rejected[reason]?.increment(by: Self.delta(now[reason], state.exported[reason]))
            }
            for (outcome, value) in now.punchOutcomes {
                let counter = state.punchOutcomes[outcome] ?? makePunchCounter(outcome, &state)
                counter.increment(by: Self.delta(value, state.exported.punchOutcomes[outcome] ?? 0))
            }
            state.exported = now
        }
    }

    /// The Prometheus text exposition of `status` (the body of `GET /metrics`).
    package func render(_ status: ServerStatus) -> [UInt8] {
        update(status)
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return buffer
    }

    private func makePunchCounter(_ outcome: PunchOutcome, _ state: inout State) -> Counter {
        let counter = registry.makeCounter(
            descriptor: Self.name(
                "punch_outcomes", unit: "total",
                help: "Sessions by the path they settled on and the NAT behaviours of client and device."),
            labels: [
                ("client_nat", outcome.clientNAT), ("device_nat", outcome.deviceNAT), ("path", outcome.path.label),
            ])
        state.punchOutcomes[outcome] = counter
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
        "ordered_punches":
            "Sessions introduced with one side waiting before it punches (the pair's last sessions stayed relayed).",
    ]
}
