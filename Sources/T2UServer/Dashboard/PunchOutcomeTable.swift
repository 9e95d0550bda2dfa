// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import T2UCore

/// The punch-outcome counters (`ServerCounters.punchOutcomes`) grouped by NAT pair: one row per
/// (client NAT, device NAT) with a count per path, for the dashboard's table and chart.
struct PunchOutcomeTable: Equatable {
    struct Row: Equatable {
        var clientNAT: String
        var deviceNAT: String
        var counts: [SignalingPathKind: UInt64]

        subscript(path: SignalingPathKind) -> UInt64 { counts[path] ?? 0 }

        var total: UInt64 { counts.values.reduce(0, &+) }

        /// Sessions that got a path of their own (LAN or direct), of all reported: what hole
        /// punching achieved for this pair.
        var directShare: Double {
            total == 0 ? 0 : Double(self[.lan] &+ self[.direct]) / Double(total)
        }
    }

    /// Most reports first, then by the labels (a stable order between refreshes).
    var rows: [Row]

    init(_ outcomes: [PunchOutcome: UInt64]) {
        var pairs: [String: Row] = [:]
        for (outcome, count) in outcomes {
            // NAT labels never contain a newline: a safe separator for the pair's key.
            let key = outcome.clientNAT + "\n" + outcome.deviceNAT
            pairs[key, default: Row(clientNAT: outcome.clientNAT, deviceNAT: outcome.deviceNAT, counts: [:])]
                .counts[outcome.path, default: 0] &+= count
        }
        rows = pairs.values.sorted { ($1.total, $0.clientNAT, $0.deviceNAT) < ($0.total, $1.clientNAT, $1.deviceNAT) }
    }

    /// Paths in the order the table and the chart show them (best first).
    static let paths: [SignalingPathKind] = [.lan, .direct, .relay, .failed]

    /// A short name of a NAT label for the chart's axis (the table shows the label itself).
    static func shortName(_ nat: String) -> String {
        switch nat {
        case "none": "open"
        case "endpoint_independent": "cone"
        case "endpoint_dependent_sequential": "sym-seq"
        case "endpoint_dependent_random": "sym-rand"
        default: nat
        }
    }
}
