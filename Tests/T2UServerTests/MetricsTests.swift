// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Foundation
import NIOCore
import T2UCore
import Testing

@testable import T2UServer

/// Prometheus text exposition parsed into `name{labels}` -> value (comments skipped).
func parsePrometheus(_ text: String) -> [String: Double] {
    var values: [String: Double] = [:]
    for line in text.split(separator: "\n") where !line.hasPrefix("#") {
        guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else {
            continue
        }
        values[String(line[..<space])] = value
    }
    return values
}

@Suite struct ServerMetricsTests {
    static func status(_ h: ServerHarness) -> ServerStatus {
        ServerStatus(
            serverID: h.core.config.serverID, uptimeSeconds: 1.5, counters: h.core.counters, gauges: h.core.gauges)
    }

    @Test func gaugesFollowRegistrationsSessionsAndExpiry() throws {
        let h = ServerHarness()
        for i in 0..<3 {
            _ = try #require(
                h.token(.device, uuid: "D-\(i)", from: NetAddress(ipv4: (198, 51, 100, UInt8(i + 1)), port: 50_000)))
        }
        let (_, clientToken) = try ServerCoreConnectTests.setUp(h)  // CAM-1 and client-1
        _ = ServerCoreConnectTests.connect(h, clientToken: clientToken)
        var gauges = h.core.gauges
        #expect(gauges.devicesOnline == 4)
        #expect(gauges.clientsOnline == 1)
        #expect(gauges.registrations == 5)
        #expect(gauges.sessions == 1)
        #expect(gauges.relaySessions == 0)
        // Limiter entries are /24 prefixes: the four devices share 198.51.100.0/24, the client has its own.
        #expect(gauges.trackedSources == 2)

        h.send(.query(requestID: 9, token: clientToken, uuid: "D-0"), from: Addr.client)
        #expect(h.core.counters.queries == 1)

        // Relayed once: the session counts as a relay session.
        h.sendRaw(TransportBytes.initiation(initiatorCID: ServerCoreConnectTests.clientCID), from: Addr.client)
        #expect(h.core.gauges.relaySessions == 1)

        h.advance(by: .seconds(70))
        gauges = h.core.gauges
        #expect(gauges.devicesOnline == 0)
        #expect(gauges.clientsOnline == 0)
        #expect(h.core.counters.expirations == 5)
    }

    @Test func prometheusCountersMoveByTheDifferenceBetweenScrapes() throws {
        let h = ServerHarness()
        let metrics = ServerMetrics()
        let first = parsePrometheus(String(decoding: metrics.render(Self.status(h)), as: UTF8.self))
        #expect(first["t2u_server_registrations_total"] == 0)
        #expect(first["t2u_server_devices_online"] == 0)
        #expect(first["t2u_server_uptime_seconds"] == 1.5)
        #expect(first["t2u_server_info{version=\"\(ServerStatus.version)\",server_id=\"t2u-1\"}"] == 1)
        #expect(first["t2u_server_rejected_packets_total{reason=\"badCookie\"}"] == 0)

        let (_, clientToken, sessionID) = try PathReportTests.session(h)
        h.sendRaw([0x20, 1, 2], from: Addr.stranger)  // malformed HELLO
        h.send(.pathReport(requestID: 3, token: clientToken, sessionID: sessionID, path: .lan), from: Addr.client)
        let text = String(decoding: metrics.render(Self.status(h)), as: UTF8.self)
        #expect(text.contains("# TYPE t2u_server_registrations_total counter"))
        #expect(text.contains("# HELP t2u_server_devices_online"))
        let second = parsePrometheus(text)
        #expect(second["t2u_server_registrations_total"] == 2)
        #expect(second["t2u_server_connects_total"] == 1)
        #expect(second["t2u_server_introductions_total"] == 1)
        #expect(second["t2u_server_devices_online"] == 1)
        #expect(second["t2u_server_clients_online"] == 1)
        #expect(second["t2u_server_sessions"] == 1)
        #expect(second["t2u_server_rejected_packets_total{reason=\"malformed\"}"] == 1)
        #expect(
            second["t2u_server_punch_outcomes_total{client_nat=\"unknown\",device_nat=\"unknown\",path=\"lan\"}"] == 1)

        // A scrape without news changes no counter (deltas, not re-adds).
        let third = parsePrometheus(String(decoding: metrics.render(Self.status(h)), as: UTF8.self))
        #expect(third["t2u_server_registrations_total"] == 2)
        #expect(third["t2u_server_datagrams_received_total"] == second["t2u_server_datagrams_received_total"])
    }

    @Test func statusJSONIsValidAndComplete() throws {
        let h = ServerHarness()
        let (_, clientToken, sessionID) = try PathReportTests.session(h)
        h.send(.pathReport(requestID: 3, token: clientToken, sessionID: sessionID, path: .failed), from: Addr.client)
        var status = Self.status(h)
        status.serverID = "quote\"back\\slash\nnew"
        let object = try #require(try JSONSerialization.jsonObject(with: Data(status.json().utf8)) as? [String: Any])
        #expect(object["server_id"] as? String == "quote\"back\\slash\nnew")
        #expect(object["version"] as? String == ServerStatus.version)
        #expect(object["devices_online"] as? Int == 1)
        #expect(object["sessions"] as? Int == 1)
        let counters = try #require(object["counters"] as? [String: Any])
        #expect(counters["registrations"] as? Int == 2)
        #expect(counters["path_reports"] as? Int == 1)
        let rejected = try #require(object["rejected"] as? [String: Any])
        #expect(rejected.count == RejectReason.allCases.count)
        let outcomes = try #require(object["punch_outcomes"] as? [[String: Any]])
        #expect(outcomes.count == 1)
        #expect(outcomes.first?["path"] as? String == "failed")
        #expect(outcomes.first?["count"] as? Int == 1)
    }

    @Test func adminAddressIsLoopbackUnlessAllowed() throws {
        #expect(try AdminAddress.parse("9100", allowRemote: false) == AdminAddress(host: "127.0.0.1", port: 9100))
        #expect(try AdminAddress.parse("127.0.0.2:80", allowRemote: false) == AdminAddress(host: "127.0.0.2", port: 80))
        #expect(try AdminAddress.parse("[::1]:9100", allowRemote: false) == AdminAddress(host: "::1", port: 9100))
        #expect(try AdminAddress.parse("localhost:0", allowRemote: false).port == 0)
        #expect(throws: AdminAddress.ParseError.notLoopback("0.0.0.0")) {
            try AdminAddress.parse("0.0.0.0:9100", allowRemote: false)
        }
        #expect(throws: AdminAddress.ParseError.notLoopback("203.0.113.1")) {
            try AdminAddress.parse("203.0.113.1:9100", allowRemote: false)
        }
        #expect(try AdminAddress.parse("0.0.0.0:9100", allowRemote: true).host == "0.0.0.0")
        for bad in ["", "x", "70000", "127.0.0.1:", "127.0.0.1:99999", ":9100", "::1:9100", "[::1]9100", "-1"] {
            #expect(throws: AdminAddress.ParseError.self, "\(bad)") { try AdminAddress.parse(bad, allowRemote: true) }
        }
        #expect(!AdminAddress(host: "128.0.0.1", port: 1).isLoopback)
        #expect(!AdminAddress(host: "127.0.0", port: 1).isLoopback)
    }
}
