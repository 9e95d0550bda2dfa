// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import T2UClient
import T2UCore
import T2UServer
import Testing

/// The SDK tells the server once per link where it settled, so operators see punch outcomes by
/// NAT pair (t2u_server_punch_outcomes_total).
@Suite(.serialized) struct PathOutcomeReportTests {
    private func outcome(directDisabled: Bool) async throws -> [PunchOutcome: UInt64] {
        let server = TestServer()
        try await server.start()
        let device = try TestDevice(uuid: "cam-report", server: server.address)
        try await device.start()
        let echo = EchoService()
        try await echo.start()
        var options = clientOptions(server)
        options.directDisabled = directDisabled
        let client = try await T2UClient(options: options)
        let port = try await client.addPort(PortMappingRequest(uuid: "cam-report", remotePort: echo.port))
        try await waitUntil("connected") { await client.portStatus(port).0 == .connected }
        try await waitUntil("path reported", seconds: 15) { try await server.runner.counters().pathReports >= 1 }
        let counters = try await server.runner.counters()
        await client.shutdown()
        await device.stop()
        await echo.stop()
        await server.stop()
        #expect(counters.pathReports == 1, "one report per link, got \(counters.pathReports)")
        return counters.punchOutcomes
    }

    @Test func aLoopbackLinkReportsLAN() async throws {
        let outcomes = try await outcome(directDisabled: false)
        #expect(outcomes.count == 1 && outcomes.keys.first?.path == .lan, "\(outcomes)")
    }

    @Test func aRelayedLinkReportsRelay() async throws {
        let outcomes = try await outcome(directDisabled: true)
        #expect(outcomes.count == 1 && outcomes.keys.first?.path == .relay, "\(outcomes)")
    }
}
