// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import T2UCore

/// The operator's dashboard (`GET /` and `/dashboard` on the admin endpoint) as one HTML page:
/// the `/status` figures, relay load, punch outcomes by NAT pair (table and inline SVG chart),
/// sessions, devices and, with `--database`, the servers. No script at all; the page reloads
/// itself with `<meta http-equiv=refresh>`. Every dynamic string goes through `HTMLText`.
///
/// Figures carry their exact value in `data-figure`/`data-value` (named as in `/status`) so a
/// test can compare the page with `/status` while people read rounded units.
enum DashboardPage {
    static let refreshSeconds = 10

    /// Sent with the page: nothing but the page itself and its inline style may load or run.
    static let headers: [(String, String)] = [
        (
            "Content-Security-Policy",
            "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
        ),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "no-referrer"),
        ("Cache-Control", "no-store"),
    ]

    static func html(_ snapshot: DashboardSnapshot) -> String {
        let status = snapshot.status
        let id = HTMLText.escaped(status.serverID)
        var page = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8">
            <meta http-equiv="refresh" content="\(refreshSeconds)">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>t2u-server \(id) · dashboard</title>
            <style>\(style)</style></head>
            <body>
            <header><h1>t2u-server <span class="id">\(id)</span></h1>
            <p class="meta">version \(HTMLText.escaped(ServerStatus.version)) · up <span data-figure="uptime_seconds" \
            data-value="\(status.uptimeSeconds)">\(DashboardFormat.duration(seconds: status.uptimeSeconds))</span> · \
            reloads every \(refreshSeconds) s · <a href="/status">/status</a> · <a href="/metrics">/metrics</a></p></header>

            """
        page += figures(snapshot)
        // Side by side on a wide screen, one under the other on a narrow one.
        page +=
            "<div class=\"pair\">\n" + relayLoad(snapshot)
            + punchOutcomes(PunchOutcomeTable(status.counters.punchOutcomes)) + "</div>\n"
        page += sessions(snapshot)
        page += devices(snapshot)
        if let servers = snapshot.servers { page += self.servers(servers) }
        page += rejected(status.counters)
        page += "</body></html>\n"
        return page
    }

    // MARK: Sections

    private static func figures(_ snapshot: DashboardSnapshot) -> String {
        let gauges = snapshot.status.gauges
        let counters = snapshot.status.counters
        var out = "<section class=\"figures\">\n"
        out += card("Devices online", name: "devices_online", value: gauges.devicesOnline.map(String.init))
        out += card("Clients online", name: "clients_online", value: gauges.clientsOnline.map(String.init))
        out += card("Sessions", name: "sessions", value: String(gauges.sessions))
        out += card("Relayed sessions", name: "relay_sessions", value: String(gauges.relaySessions))
        out += card(
            "Relayed", name: "relay_bytes", value: String(counters.relayedBytes),
            shown: DashboardFormat.bytes(counters.relayedBytes))
        out += card("Rejected datagrams", name: "rejected_total", value: String(counters.totalRejected))
        return out + "</section>\n"
    }

    private static func card(_ title: String, name: String, value: String?, shown: String? = nil) -> String {
        """
        <div class="card"><div class="label">\(title)</div><div class="value" data-figure="\(name)" \
        data-value="\(HTMLText.escaped(value ?? "null"))">\(HTMLText.escaped(shown ?? value.map(grouped) ?? "–"))</div></div>

        """
    }

    private static func relayLoad(_ snapshot: DashboardSnapshot) -> String {
        let status = snapshot.status
        let sessions = status.gauges.sessions
        let relayed = status.gauges.relaySessions
        let share = sessions == 0 ? 0 : Double(relayed) / Double(sessions)
        let average = status.uptimeSeconds > 0 ? Double(status.counters.relayedBytes) / status.uptimeSeconds : 0
        let meterWidth = 220.0
        var out = "<section class=\"relayload\"><h2>Relay load</h2>\n"
        if !snapshot.relayAllowed {
            out += "<p class=\"warn\">Relay is off (--no-relay): sessions without a direct path fail.</p>\n"
        }
        out += """
            <div class="relay"><svg class="meter" xmlns="http://www.w3.org/2000/svg" width="\(Int(meterWidth))" height="16" \
            role="img" aria-label="relayed sessions of all sessions">\
            <rect x="0" y="0" width="\(Int(meterWidth))" height="16" rx="3" fill="#e9ecef"/>\
            <rect x="0" y="0" width="\(DashboardFormat.oneDecimal(meterWidth * share))" height="16" rx="3" fill="\(PunchChart.colour(.relay))"/>\
            </svg> <span>\(DashboardFormat.count(relayed)) of \(DashboardFormat.count(sessions)) sessions relayed (\(DashboardFormat.percent(share)))</span></div>
            <table class="kv">
            <tr><th>Relayed packets</th><td data-figure="relay_packets" data-value="\(status.counters.relayedPackets)">\(DashboardFormat.count(status.counters.relayedPackets))</td></tr>
            <tr><th>Relayed bytes</th><td>\(DashboardFormat.bytes(status.counters.relayedBytes))</td></tr>
            <tr><th>Average since start</th><td>\(DashboardFormat.rate(bytesPerSecond: average))</td></tr>
            <tr><th>Budget per session</th><td>\(DashboardFormat.rate(bytesPerSecond: snapshot.relayBytesPerSecond))</td></tr>
            <tr><th>Sessions resumed</th><td data-figure="relay_resumes" data-value="\(status.counters.relayResumes)">\(status.counters.relayResumes)</td></tr>
            </table></section>

            """
        return out
    }

    private static func punchOutcomes(_ table: PunchOutcomeTable) -> String {
        var out = "<section class=\"punch\"><h2>Punch outcomes by NAT pair</h2>\n"
        guard !table.rows.isEmpty else {
            return out
                + "<p class=\"empty\">No path reports yet: clients report the path of each session once it settles.</p></section>\n"
        }
        out += "<p class=\"note\">The path each session settled on, by the NATs of its client × device.</p>\n"
        out += PunchChart.svg(table) + "\n"
        out += "<table class=\"grid\" id=\"punch\"><thead><tr><th>Client NAT</th><th>Device NAT</th>"
        for path in PunchOutcomeTable.paths { out += "<th class=\"num\">\(path.label)</th>" }
        out += "<th class=\"num\">total</th><th class=\"num\">LAN or direct</th></tr></thead><tbody>\n"
        for row in table.rows {
            out +=
                "<tr data-client-nat=\"\(HTMLText.escaped(row.clientNAT))\" data-device-nat=\"\(HTMLText.escaped(row.deviceNAT))\">"
            out += "<td>\(HTMLText.escaped(row.clientNAT))</td><td>\(HTMLText.escaped(row.deviceNAT))</td>"
            for path in PunchOutcomeTable.paths {
                out +=
                    "<td class=\"num\" data-path=\"\(path.label)\" data-count=\"\(row[path])\">\(DashboardFormat.count(row[path]))</td>"
            }
            out +=
                "<td class=\"num\">\(DashboardFormat.count(row.total))</td><td class=\"num\">\(DashboardFormat.percent(row.directShare))</td></tr>\n"
        }
        return out + "</tbody></table></section>\n"
    }

    private static func sessions(_ snapshot: DashboardSnapshot) -> String {
        let total = snapshot.status.gauges.sessions
        var out = "<section><h2>Sessions</h2>\n"
        guard !snapshot.sessions.isEmpty else { return out + "<p class=\"empty\">No sessions.</p></section>\n" }
        out += shownOf(snapshot.sessions.count, total, order: "most relayed first")
        out += "<table class=\"grid\" id=\"sessions\"><thead><tr><th>Client</th><th>Device</th><th>Relay</th>"
        out += "<th class=\"num\">Relayed</th><th class=\"num\">Idle</th></tr></thead><tbody>\n"
        for session in snapshot.sessions {
            var relay = session.relayed ? "relayed" : "not relayed"
            if let peer = session.peerServerID { relay += " via " + peer }
            out +=
                "<tr><td class=\"uuid\">\(HTMLText.escaped(session.clientUUID))</td><td class=\"uuid\">\(HTMLText.escaped(session.deviceUUID))</td>"
            out +=
                "<td>\(HTMLText.escaped(relay))</td><td class=\"num\">\(DashboardFormat.bytes(session.relayedBytes))</td>"
            out += "<td class=\"num\">\(DashboardFormat.duration(seconds: session.secondsIdle))</td></tr>\n"
        }
        return out + "</tbody></table></section>\n"
    }

    private static func devices(_ snapshot: DashboardSnapshot) -> String {
        var out = "<section><h2>Devices online</h2>\n"
        guard !snapshot.devices.isEmpty else { return out + "<p class=\"empty\">No devices online.</p></section>\n" }
        let shared = snapshot.servers != nil
        out += shownOf(snapshot.devices.count, snapshot.devicesListed, order: "by UUID")
        out += "<table class=\"grid\" id=\"devices\"><thead><tr><th>UUID</th><th>NAT</th><th>Address</th><th>Extra</th>"
        out += "<th class=\"num\">Last seen</th>\(shared ? "<th>Server</th>" : "")</tr></thead><tbody>\n"
        for device in snapshot.devices {
            out +=
                "<tr><td class=\"uuid\">\(HTMLText.escaped(device.uuid))</td><td>\(HTMLText.escaped(device.nat))</td>"
            out +=
                "<td>\(HTMLText.escaped(device.address))</td><td class=\"extra\">\(HTMLText.escaped(bytes: device.extra))</td>"
            out += "<td class=\"num\">\(DashboardFormat.duration(seconds: device.secondsSinceSeen)) ago</td>"
            if shared { out += "<td>\(HTMLText.escaped(device.homeServerID))</td>" }
            out += "</tr>\n"
        }
        return out + "</tbody></table></section>\n"
    }

    private static func servers(_ servers: [DashboardSnapshot.Server]) -> String {
        var out = "<section><h2>Servers sharing the database</h2>\n"
        out += "<table class=\"grid\" id=\"servers\"><thead><tr><th>Server ID</th><th>Advertised address</th>"
        out += "<th class=\"num\">Devices</th><th class=\"num\">Clients</th></tr></thead><tbody>\n"
        for server in servers {
            let me = server.isThisServer ? " <span class=\"tag\">this server</span>" : ""
            out += "<tr data-server-id=\"\(HTMLText.escaped(server.id))\"><td>\(HTMLText.escaped(server.id))\(me)</td>"
            out +=
                "<td>\(HTMLText.escaped(server.advertise))</td><td class=\"num\">\(DashboardFormat.count(server.devices))</td>"
            out += "<td class=\"num\">\(DashboardFormat.count(server.clients))</td></tr>\n"
        }
        return out + "</tbody></table></section>\n"
    }

    /// Dropped datagrams by reason (the reasons of `/status`), most first; none: one line.
    private static func rejected(_ counters: ServerCounters) -> String {
        let rows = RejectReason.allCases.map { ($0, counters[$0]) }.filter { $0.1 > 0 }.sorted { $0.1 > $1.1 }
        var out = "<section><h2>Rejected datagrams</h2>\n"
        guard !rows.isEmpty else { return out + "<p class=\"empty\">None rejected.</p></section>\n" }
        out += "<table class=\"kv\" id=\"rejected\">"
        for (reason, count) in rows {
            out +=
                "<tr><th>\(reason.rawValue)</th><td class=\"num\" data-reject=\"\(reason.rawValue)\" data-count=\"\(count)\">\(DashboardFormat.count(count))</td></tr>"
        }
        return out + "</table></section>\n"
    }

    private static func shownOf(_ shown: Int, _ total: Int, order: String) -> String {
        shown < total ? "<p class=\"note\">\(shown) of \(DashboardFormat.count(total)) shown, \(order).</p>\n" : ""
    }

    /// A figure's digits grouped for reading; anything else as it is.
    private static func grouped(_ value: String) -> String { Int64(value).map(DashboardFormat.count) ?? value }

    private static let style = """
        body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;margin:0;padding:20px 28px;\
        color:#212529;background:#f8f9fa}
        header h1{font-size:20px;margin:0}header .id{font-weight:400;color:#495057}
        .meta{color:#6c757d;margin:4px 0 16px}a{color:#1971c2}
        h2{font-size:16px;margin:0 0 10px}
        section{background:#fff;border:1px solid #dee2e6;border-radius:6px;padding:14px 18px;margin:0 0 16px}
        section.figures{display:flex;flex-wrap:wrap;gap:12px;background:none;border:0;padding:0}
        .card{background:#fff;border:1px solid #dee2e6;border-radius:6px;padding:10px 16px;min-width:130px}
        .card .label{color:#6c757d;font-size:12px;text-transform:uppercase;letter-spacing:.04em}
        .card .value{font-size:26px;font-weight:600;font-variant-numeric:tabular-nums}
        table{border-collapse:collapse}table.grid{width:100%;margin-top:8px}
        th,td{padding:4px 10px;text-align:left;border-bottom:1px solid #e9ecef;vertical-align:top}
        thead th{color:#495057;font-weight:600;border-bottom:2px solid #dee2e6}
        .num{text-align:right;font-variant-numeric:tabular-nums}
        table.kv th{font-weight:400;color:#6c757d;padding-left:0}
        .uuid,.extra{font-family:ui-monospace,"DejaVu Sans Mono",monospace;word-break:break-all}
        .extra{color:#495057;max-width:24em}
        .empty,.note{color:#6c757d;margin:4px 0}.warn{color:#c92a2a}
        .pair{display:flex;flex-wrap:wrap;gap:0 16px;align-items:stretch}\
        .pair>.relayload{flex:1 1 300px}.pair>.punch{flex:3 1 760px}
        .relay{display:flex;flex-wrap:wrap;align-items:center;gap:6px 10px;margin-bottom:6px}
        .tag{background:#e7f5ff;color:#1971c2;border-radius:3px;padding:0 5px;font-size:12px}
        svg text{font:12px system-ui,"DejaVu Sans",sans-serif;fill:#343a40}
        svg text.inbar{fill:#fff;font-weight:600}svg text.total{font-weight:600}
        """
}
