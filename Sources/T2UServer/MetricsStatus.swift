// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import T2UCore
import T2UVersion

/// A snapshot of the server for the operator surface: taken on the core's event loop, rendered
/// (Prometheus text, JSON) anywhere.
public struct ServerStatus: Sendable, Equatable {
    /// The build's version (T2UVersion, from git), reported by `/status`, `t2u_server_info` and
    /// `t2u-server --version`.
    public static let version = T2UVersion.string

    public var serverID: String
    public var uptimeSeconds: Double
    public var counters: ServerCounters
    public var gauges: ServerGauges
    /// The limits in effect (they change on reload).
    public var limits = ServerLimits.defaults

    public init(serverID: String, uptimeSeconds: Double, counters: ServerCounters, gauges: ServerGauges) {
        self.serverID = serverID
        self.uptimeSeconds = uptimeSeconds
        self.counters = counters
        self.gauges = gauges
    }

    /// The body of `GET /status`: one flat object of numbers, every reject reason present.
    public func json() -> String {
        var out = JSONWriter()
        out.open()
        out.field("version", string: Self.version)
        out.field("server_id", string: serverID)
        out.field("uptime_seconds", number: uptimeSeconds)
        out.field("devices_online", int: gauges.devicesOnline)
        out.field("clients_online", int: gauges.clientsOnline)
        out.field("agents_online", int: gauges.registrations)
        out.field("sessions", int: gauges.sessions)
        out.field("relay_sessions", int: gauges.relaySessions)
        out.field("tracked_sources", int: gauges.trackedSources)
        out.key("limits")
        out.open()
        out.key("relay")
        out.text += limits.relayAllowed ? "true" : "false"
        out.needsComma = true
        out.field("relay_bytes_per_second", number: limits.relayBytesPerSecond)
        out.field("signaling_per_second", number: limits.signalingPerSecond)
        out.field("signaling_burst", number: limits.signalingBurst)
        out.close()
        out.key("counters")
        out.open()
        for (name, value) in counters.named { out.field(name, uint: value) }
        out.close()
        out.key("rejected")
        out.open()
        for reason in RejectReason.allCases { out.field(reason.rawValue, uint: counters[reason]) }
        out.close()
        out.key("punch_outcomes")
        out.text += "["
        let rows = counters.punchOutcomes.sorted {
            ($0.key.clientNAT, $0.key.deviceNAT, $0.key.path.rawValue) < (
                $1.key.clientNAT, $1.key.deviceNAT, $1.key.path.rawValue
            )
        }
        for (index, (outcome, count)) in rows.enumerated() {
            if index > 0 { out.text += "," }
            var row = JSONWriter()
            row.open()
            row.field("client_nat", string: outcome.clientNAT)
            row.field("device_nat", string: outcome.deviceNAT)
            row.field("path", string: outcome.path.label)
            row.field("count", uint: count)
            row.close()
            out.text += row.text
        }
        out.text += "]"
        out.needsComma = true
        out.close()
        return out.text
    }
}

extension ServerCounters {
    /// The plain counters by their exported name (without the `t2u_server_` prefix and `_total`).
    public var named: [(String, UInt64)] {
        [
            ("datagrams_received", datagramsReceived), ("signaling_replies", signalingReplies),
            ("registrations", registrations), ("expirations", expirations), ("introductions", introductionsSent),
            ("queries", queries), ("connects", connects), ("relay_packets", relayedPackets),
            ("relay_bytes", relayedBytes),
            ("path_reports", pathReports), ("peer_introductions_sent", peerIntroductionsSent),
            ("peer_introductions_received", peerIntroductionsReceived),
            ("relay_unknown_sent", relayUnknownSent), ("relay_resumes", relayResumes),
            ("ordered_punches", orderedPunches),
        ]
    }
}

/// Just enough JSON for flat status objects (no Foundation in the server library).
private struct JSONWriter {
    var text = ""
    var needsComma = false

    mutating func open() {
        text += "{"
        needsComma = false
    }

    mutating func close() {
        text += "}"
        needsComma = true
    }

    mutating func key(_ name: String) {
        if needsComma { text += "," }
        text += Self.quoted(name) + ":"
        needsComma = false
    }

    mutating func field(_ name: String, string: String) {
        key(name)
        text += Self.quoted(string)
        needsComma = true
    }
    mutating func field(_ name: String, uint: UInt64) {
        key(name)
        text += String(uint)
        needsComma = true
    }
    mutating func field(_ name: String, int: Int?) {
        key(name)
        text += int.map(String.init) ?? "null"
        needsComma = true
    }

    mutating func field(_ name: String, number: Double) {
        key(name)
        text += number.isFinite ? String(number) : "null"
        needsComma = true
    }

    static func quoted(_ s: String) -> String { JSONText.quoted(s) }
}
