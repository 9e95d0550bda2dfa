// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Logging
import NIOCore
import NIOPosix
import T2UCore
import T2UNIO
import Testing

@testable import T2UServer

@Suite struct DashboardPageTests {
    static func status(
        devices: Int? = 3, clients: Int? = 2, sessions: Int = 4, relaySessions: Int = 1,
        outcomes: [PunchOutcome: UInt64] = [:], relayedBytes: UInt64 = 0
    ) -> ServerStatus {
        var counters = ServerCounters()
        counters.relayedBytes = relayedBytes
        counters.relayedPackets = 77
        counters.punchOutcomes = outcomes
        return ServerStatus(
            serverID: "srv-a", uptimeSeconds: 3725,
            counters: counters,
            gauges: ServerGauges(
                devicesOnline: devices, clientsOnline: clients, registrations: 5, sessions: sessions,
                relaySessions: relaySessions, trackedSources: 9))
    }

    /// The value of `data-figure="name"` on the page.
    static func figure(_ name: String, in html: String) -> String? {
        guard let at = html.range(of: "data-figure=\"\(name)\" data-value=\"") else { return nil }
        return String(html[at.upperBound...].prefix { $0 != "\"" })
    }

    /// The punch table's count for one NAT pair and path.
    static func punchCount(_ client: String, _ device: String, _ path: String, in html: String) -> String? {
        guard let row = html.range(of: "<tr data-client-nat=\"\(client)\" data-device-nat=\"\(device)\">"),
            let end = html[row.upperBound...].range(of: "</tr>"),
            let cell = html[row.upperBound..<end.lowerBound].range(of: "data-path=\"\(path)\" data-count=\"")
        else { return nil }
        return String(html[cell.upperBound...].prefix { $0 != "\"" })
    }

    @Test func showsTheStatusFiguresAndThePunchTableAndChart() {
        let outcomes: [PunchOutcome: UInt64] = [
            PunchOutcome(clientNAT: "endpoint_independent", deviceNAT: "endpoint_dependent_random", path: .relay): 5,
            PunchOutcome(clientNAT: "endpoint_independent", deviceNAT: "endpoint_dependent_random", path: .direct): 2,
            PunchOutcome(clientNAT: "none", deviceNAT: "endpoint_independent", path: .lan): 1,
        ]
        let html = DashboardPage.html(
            DashboardSnapshot(status: Self.status(outcomes: outcomes, relayedBytes: 3 * 1024 * 1024)))
        #expect(Self.figure("devices_online", in: html) == "3")
        #expect(Self.figure("clients_online", in: html) == "2")
        #expect(Self.figure("sessions", in: html) == "4")
        #expect(Self.figure("relay_sessions", in: html) == "1")
        #expect(Self.figure("relay_bytes", in: html) == "3145728")
        #expect(Self.figure("relay_packets", in: html) == "77")
        #expect(
            DashboardPage.html(DashboardSnapshot(status: Self.status(devices: 12345))).contains(
                "data-value=\"12345\">12\u{202F}345</div>"))
        #expect(Self.figure("uptime_seconds", in: html) == "3725.0")
        #expect(html.contains(">3.0 MiB<"))
        #expect(html.contains("up <span data-figure=\"uptime_seconds\" data-value=\"3725.0\">1 h 02 min</span>"))
        #expect(html.contains("1 of 4 sessions relayed (25 %)"))
        #expect(html.contains("<meta http-equiv=\"refresh\" content=\"10\">"))

        #expect(Self.punchCount("endpoint_independent", "endpoint_dependent_random", "relay", in: html) == "5")
        #expect(Self.punchCount("endpoint_independent", "endpoint_dependent_random", "direct", in: html) == "2")
        #expect(Self.punchCount("endpoint_independent", "endpoint_dependent_random", "lan", in: html) == "0")
        #expect(Self.punchCount("none", "endpoint_independent", "lan", in: html) == "1")
        // The busier pair first; its direct share is 2 of 7.
        let busy = html.range(of: "data-device-nat=\"endpoint_dependent_random\"")!.lowerBound
        let quiet = html.range(of: "data-client-nat=\"none\"")!.lowerBound
        #expect(busy < quiet)
        #expect(html.contains("<td class=\"num\">7</td><td class=\"num\">29 %</td>"))

        // The chart: one bar segment per non-zero (pair, path), on one scale (5 + 2 fill the bar).
        let chart = String(html[html.range(of: "<svg class=\"chart\"")!.lowerBound...])
        #expect(
            chart.components(separatedBy: "<title>client endpoint_independent × device endpoint_dependent_random, ")
                .count == 3)
        #expect(chart.contains("cone × sym-rand"))
        #expect(chart.contains("open × cone"))
        let barArea = Double(PunchChart.width - PunchChart.labelWidth - PunchChart.totalWidth)
        #expect(
            chart.contains(
                "width=\"\(DashboardFormat.oneDecimal(barArea * 5 / 7))\" height=\"18\" fill=\"\(PunchChart.colour(.relay))\""
            ))
        #expect(
            chart.contains(
                "width=\"\(DashboardFormat.oneDecimal(barArea / 7))\" height=\"18\" fill=\"\(PunchChart.colour(.lan))\""
            ))
        #expect(!html.lowercased().contains("<script"))
    }

    @Test func listsRejectedDatagramsByReasonMostFirst() {
        var status = Self.status()
        for _ in 0..<3 { status.counters.reject(.rateLimited) }
        status.counters.reject(.badCookie)
        let html = DashboardPage.html(DashboardSnapshot(status: status))
        #expect(Self.figure("rejected_total", in: html) == "4")
        let rateLimited = html.range(of: "data-reject=\"rateLimited\" data-count=\"3\"")
        let badCookie = html.range(of: "data-reject=\"badCookie\" data-count=\"1\"")
        #expect(rateLimited != nil && badCookie != nil)
        if let rateLimited, let badCookie { #expect(rateLimited.lowerBound < badCookie.lowerBound) }
        #expect(html.components(separatedBy: "data-reject=").count == 3, "reasons without rejections are not listed")
        #expect(DashboardPage.html(DashboardSnapshot(status: Self.status())).contains("None rejected."))
    }

    @Test func escapesEveryStringAnAgentOrServerChose() {
        let evil = "<script>alert(1)</script>"
        let snapshot = DashboardSnapshot(
            status: Self.status(),
            devices: [
                DashboardSnapshot.Agent(
                    uuid: "DEV-\(evil)", nat: "none", address: "192.0.2.1:1000",
                    extra: Array("\"><img src=x onerror=alert(2)>'".utf8), secondsSinceSeen: 2,
                    homeServerID: "srv-<b>")
            ],
            sessions: [
                DashboardSnapshot.Session(
                    clientUUID: "cli-\(evil)", deviceUUID: "DEV-\(evil)", relayed: true,
                    relayedBytes: 10, secondsIdle: 1, peerServerID: "peer-<i>")
            ],
            servers: [
                DashboardSnapshot.Server(
                    id: "srv-<b>", advertise: "198.51.100.1:7000", devices: 1, clients: 0, isThisServer: false)
            ])
        let html = DashboardPage.html(snapshot)
        #expect(!html.lowercased().contains("<script"))
        #expect(!html.contains("<img"))
        #expect(!html.contains("<b>") && !html.contains("<i>"))
        #expect(html.contains("DEV-&lt;script&gt;alert(1)&lt;/script&gt;"))
        #expect(html.contains("cli-&lt;script&gt;alert(1)&lt;/script&gt;"))
        #expect(html.contains("&quot;&gt;&lt;img src=x onerror=alert(2)&gt;&#39;"))
        #expect(html.contains("relayed via peer-&lt;i&gt;"))
        #expect(html.contains("<tr data-server-id=\"srv-&lt;b&gt;\"><td>srv-&lt;b&gt;</td>"))
    }

    @Test func escapesMarkupQuotesAndHiddenCharacters() {
        #expect(HTMLText.escaped("a&b<c>\"d'") == "a&amp;b&lt;c&gt;&quot;d&#39;")
        // A right-to-left override or a zero-width space would disguise a UUID: shown, not obeyed.
        #expect(HTMLText.escaped("CAM\u{202E}1-\u{200B}x\u{0}") == "CAM\\u{202E}1-\\u{200B}x\\u{0}")
        #expect(HTMLText.escaped("Kamera-Süd-東京") == "Kamera-Süd-東京")
        // Extra bytes: UTF-8 as text, anything else as hex, long ones cut.
        #expect(HTMLText.escaped(bytes: Array("a<b".utf8)) == "a&lt;b")
        #expect(HTMLText.escaped(bytes: [0xFF, 0x3C]) == "0xff3c")
        #expect(HTMLText.escaped(bytes: Array(repeating: UInt8(ascii: "x"), count: 100), limit: 5) == "xxxxx…")
    }

    @Test func emptyServerSaysSoWithoutChartOrLists() {
        let html = DashboardPage.html(
            DashboardSnapshot(status: Self.status(devices: 0, clients: 0, sessions: 0, relaySessions: 0)))
        #expect(Self.figure("devices_online", in: html) == "0")
        #expect(Self.figure("relay_bytes", in: html) == "0")
        #expect(html.contains("No path reports yet"))
        #expect(html.contains("No sessions."))
        #expect(html.contains("No devices online."))
        #expect(html.contains("0 of 0 sessions relayed (0 %)"))
        #expect(!html.contains("<svg class=\"chart\""))
        #expect(!html.contains("id=\"punch\""))
        #expect(!html.contains("Servers sharing the database"))
        // A registry that cannot count by role: "–" on the page, null in the data (as in /status).
        let unknown = DashboardPage.html(DashboardSnapshot(status: Self.status(devices: nil, clients: nil)))
        #expect(unknown.contains("data-figure=\"devices_online\" data-value=\"null\">–</div>"))
    }

    @Test func unitsPeopleRead() {
        #expect(DashboardFormat.bytes(1023) == "1023 B")
        #expect(DashboardFormat.bytes(1536) == "1.5 KiB")
        #expect(DashboardFormat.bytes(5 * 1024 * 1024 * 1024) == "5.0 GiB")
        #expect(DashboardFormat.rate(bytesPerSecond: 125_000_000) == "1.0 Gbit/s")
        #expect(DashboardFormat.rate(bytesPerSecond: 100) == "800 bit/s")
        #expect(DashboardFormat.duration(seconds: 42.9) == "42 s")
        #expect(DashboardFormat.duration(seconds: 3725) == "1 h 02 min")
        #expect(DashboardFormat.duration(seconds: 200_000) == "2 d 07 h")
        #expect(DashboardFormat.percent(2.0 / 7) == "29 %")
        #expect(DashboardFormat.count(61_000_000) == "61\u{202F}000\u{202F}000")
        #expect(DashboardFormat.count(999) == "999")
        #expect(DashboardFormat.count(-1234) == "-1\u{202F}234")
    }

    // MARK: The core's snapshot

    @Test func snapshotListsDevicesAndSessionsOfTheCore() throws {
        let h = ServerHarness()
        _ = try #require(
            h.token(.device, uuid: "CAM-1", from: Addr.device, extra: Array("<x>".utf8), candidates: [Addr.deviceLAN]))
        let client = try #require(h.token(.client, uuid: "client-1", from: Addr.client))
        let (result, _) = ServerCoreConnectTests.connect(h, clientToken: client)
        _ = try #require(result)
        h.now = h.now + .seconds(3)

        let snapshot = h.core.dashboard(now: h.now, uptimeSeconds: 12)
        #expect(snapshot.status.gauges.devicesOnline == 1)
        #expect(snapshot.status.gauges.clientsOnline == 1)
        #expect(snapshot.status.serverID == h.core.config.serverID)
        #expect(snapshot.devices.map(\.uuid) == ["CAM-1"])
        #expect(snapshot.devices.first?.extra == Array("<x>".utf8))
        #expect(snapshot.devices.first?.address == Addr.device.description)
        #expect(snapshot.devices.first?.secondsSinceSeen ?? 0 >= 3)
        #expect(snapshot.sessions.map(\.deviceUUID) == ["CAM-1"])
        #expect(snapshot.sessions.first?.clientUUID == "client-1")
        #expect(snapshot.sessions.first?.relayed == false)
        #expect(snapshot.servers == nil, "one server in memory: no server list")
        let html = DashboardPage.html(snapshot)
        #expect(html.contains("<td class=\"uuid\">CAM-1</td>"))
        #expect(html.contains("<td class=\"extra\">&lt;x&gt;</td>"))
    }

    @Test func snapshotListsTheFirstHundredDevicesByUUIDOfMany() {
        let registry = InMemoryRegistry()
        let now = Instant(nanoseconds: 5_000_000_000)
        var uuids = (0..<250).map { "DEV-\(String(1000 + $0))" }
        uuids.shuffle()
        for (index, uuid) in uuids.enumerated() {
            registry.upsert(
                PresenceRecord(
                    role: .device, uuid: uuid, address: NetAddress(ipv4: (192, 0, 2, 1), port: UInt16(1000 + index)),
                    publicKey: [], extra: [], candidates: [], lastSeen: now, homeServerID: "t2u-1",
                    token: UInt64(index + 1)))
        }
        registry.upsert(
            PresenceRecord(
                role: .client, uuid: "AAA-client", address: NetAddress(ipv4: (192, 0, 2, 2), port: 1),
                publicKey: [], extra: [], candidates: [], lastSeen: now, homeServerID: "t2u-1", token: 9999))
        let core = ServerCore(config: ServerConfig(), registry: registry, entropy: SeededEntropy(seed: 1), now: now)
        let snapshot = core.dashboard(now: now, uptimeSeconds: 1)
        #expect(snapshot.devicesListed == 250)
        #expect(snapshot.devices.count == DashboardSnapshot.deviceLimit)
        #expect(snapshot.devices.map(\.uuid) == (0..<100).map { "DEV-\(String(1000 + $0))" })
        #expect(DashboardPage.html(snapshot).contains("100 of 250 shown, by UUID."))
    }

    @Test func snapshotListsTheServersOfASharedDatabase() {
        let registry = PostgresRegistry(serverID: "srv-a")
        registry.setServers([
            "srv-a": NetAddress(ipv4: (192, 0, 2, 10), port: 7000),
            "srv-b": NetAddress(ipv4: (192, 0, 2, 11), port: 7000),
        ])
        let now = Instant(nanoseconds: 5_000_000_000)
        registry.applyRemote(
            PresenceRecord(
                role: .device, uuid: "far-cam", address: NetAddress(ipv4: (198, 51, 100, 5), port: 4000),
                publicKey: [], extra: [], candidates: [], lastSeen: now, homeServerID: "srv-b", token: 0),
            age: .zero, now: now)
        var config = ServerConfig()
        config.serverID = "srv-a"
        let core = ServerCore(config: config, registry: registry, entropy: SeededEntropy(seed: 1), now: now)
        let snapshot = core.dashboard(now: now, uptimeSeconds: 1)
        #expect(
            snapshot.servers == [
                DashboardSnapshot.Server(
                    id: "srv-a", advertise: "192.0.2.10:7000", devices: 0, clients: 0, isThisServer: true),
                DashboardSnapshot.Server(
                    id: "srv-b", advertise: "192.0.2.11:7000", devices: 1, clients: 0, isThisServer: false),
            ])
        let html = DashboardPage.html(snapshot)
        #expect(html.contains("Servers sharing the database"))
        #expect(html.contains("<td>srv-a <span class=\"tag\">this server</span></td>"))
        #expect(html.contains("<td class=\"uuid\">far-cam</td>"))
        #expect(html.contains("<th>Server</th>"))
    }

    // MARK: The admin route

    @Test func dashboardRouteAnswersReadsOnlyWithAStrictContentSecurityPolicy() {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let loop = group.next()
        let core = ServerCore(config: ServerConfig(), entropy: SeededEntropy(seed: 1), now: MonotonicClock.now())
        let driver = ServerDriver(core: core, eventLoop: loop, logger: Logger(label: "test"))
        for path in ["/", "/dashboard"] {
            let response = driver.adminResponse(AdminRequest(method: .GET, path: path), metrics: ServerMetrics())
            #expect(response.status == .ok)
            #expect(response.contentType == "text/html; charset=utf-8")
            let csp = response.headers.first { $0.0 == "Content-Security-Policy" }?.1 ?? ""
            #expect(csp.hasPrefix("default-src 'none'"))
            #expect(!csp.contains("script-src"))
            #expect(
                String(decoding: response.body, as: UTF8.self).contains(
                    "<h1>t2u-server <span class=\"id\">t2u-1</span></h1>"))
        }
        #expect(
            driver.adminResponse(AdminRequest(method: .POST, path: "/dashboard"), metrics: ServerMetrics()).status
                == .methodNotAllowed)
        #expect(
            driver.adminResponse(AdminRequest(method: .HEAD, path: "/dashboard"), metrics: ServerMetrics()).status
                == .ok)
    }
}
