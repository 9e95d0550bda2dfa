// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import T2UCore

/// The punch outcomes as an inline SVG chart: one horizontal bar per NAT pair, stacked by path
/// (LAN, direct, relay, failed), on one scale. Server-rendered: no script, hover titles only.
enum PunchChart {
    static let width = 720
    static let labelWidth = 150
    static let totalWidth = 60
    static let rowHeight = 28
    static let barHeight = 18
    static let legendHeight = 28

    /// Colours per path, told apart by lightness too (they survive a grey-scale print).
    static func colour(_ path: SignalingPathKind) -> String {
        switch path {
        case .lan: "#2f9e44"
        case .direct: "#1971c2"
        case .relay: "#f59f00"
        case .failed: "#c92a2a"
        }
    }

    static func svg(_ table: PunchOutcomeTable) -> String {
        let barArea = Double(width - labelWidth - totalWidth)
        let scale = Double(table.rows.map(\.total).max() ?? 1)
        let height = legendHeight + table.rows.count * rowHeight + 4
        var out = """
            <svg class="chart" xmlns="http://www.w3.org/2000/svg" width="\(width)" height="\(height)" \
            viewBox="0 0 \(width) \(height)" role="img" aria-label="Punch outcomes by NAT pair (client × device), stacked by path">
            """
        // Legend.
        var x = labelWidth
        for path in PunchOutcomeTable.paths {
            out += "<rect x=\"\(x)\" y=\"6\" width=\"12\" height=\"12\" rx=\"2\" fill=\"\(colour(path))\"/>"
            out += "<text x=\"\(x + 17)\" y=\"16\" class=\"legend\">\(path.label)</text>"
            x += 90
        }
        for (index, row) in table.rows.enumerated() {
            let top = legendHeight + index * rowHeight
            let name = HTMLText.escaped(
                PunchOutcomeTable.shortName(row.clientNAT) + " × " + PunchOutcomeTable.shortName(row.deviceNAT))
            let full = HTMLText.escaped("client \(row.clientNAT) × device \(row.deviceNAT)")
            out += "<g><title>\(full): \(row.total) reported</title>"
            out +=
                "<text x=\"\(labelWidth - 8)\" y=\"\(top + barHeight - 4)\" text-anchor=\"end\" class=\"axis\">\(name)</text>"
            var left = Double(labelWidth)
            for path in PunchOutcomeTable.paths where row[path] > 0 {
                let w = barArea * Double(row[path]) / scale
                out +=
                    "<rect x=\"\(fixed(left))\" y=\"\(top)\" width=\"\(fixed(w))\" height=\"\(barHeight)\" fill=\"\(colour(path))\">"
                out += "<title>\(full), \(path.label): \(row[path])</title></rect>"
                if w >= 24 {
                    out +=
                        "<text x=\"\(fixed(left + w / 2))\" y=\"\(top + barHeight - 5)\" text-anchor=\"middle\" class=\"inbar\">\(row[path])</text>"
                }
                left += w
            }
            out += "<text x=\"\(fixed(left + 6))\" y=\"\(top + barHeight - 4)\" class=\"total\">\(row.total)</text></g>"
        }
        return out + "</svg>"
    }

    private static func fixed(_ value: Double) -> String { DashboardFormat.oneDecimal(value) }
}
