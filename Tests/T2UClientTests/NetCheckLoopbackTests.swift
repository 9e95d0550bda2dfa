// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Logging
import NIOPosix
import T2UCore
import T2UServer
import Testing

@testable import T2UClient

/// `NetCheck.run` against an in-process server on 127.0.0.1: UDP reachable with a measured
/// latency, no NAT (the server sees our own socket) so the mapping is endpoint-independent,
/// hairpinning trivially works, and the key the server states is compared with --key.
@Suite(.serialized) struct NetCheckLoopbackTests {
    /// A server whose observation port is main + 1, as deployed (port 0 would pick both at
    /// random, and netcheck, like the agents, probes main + 1).
    static func startServer(_ config: ServerConfig) async throws -> TestServer {
        var lastError: Error?
        for _ in 0..<20 {
            let port = Int.random(in: 20_000..<60_000)
            let server = TestServer(config: config, port: port)
            do {
                try await server.start()
                return server
            } catch {
                lastError = error
                await server.stop()
            }
        }
        throw lastError!
    }

    @Test func loopbackServerIsReachableAndUnNATted() async throws {
        let config = ServerConfig()
        let server = try await Self.startServer(config)
        defer { Task { await server.stop() } }
        var options = NetCheckOptions(
            server: "127.0.0.1:\(server.port)", serverPort: 7000,
            serverKey: Hex.encode(config.identity.publicKey))
        options.portMapping = false
        // A long timeout: ending well before it shows nothing waited for it (a bound near the
        // real 0.3 s would fail whenever the loaded test process leaves this task waiting).
        options.timeout = .seconds(30)
        let started = ContinuousClock.now
        let report = try await NetCheck.run(options)
        let elapsed = ContinuousClock.now - started
        #expect(report.udp)
        let row = try #require(report.servers.first)
        #expect(row.udpReachable && row.probesAnswered == 3 && row.family == "IPv4")
        #expect((row.latencyMillis ?? -1) >= 0 && (row.latencyMillis ?? 99) < 50)
        #expect(row.mappedAddress?.hasPrefix("127.0.0.1:") == true && row.observationMappedAddress == row.mappedAddress)
        #expect(report.mapping == .endpointIndependent && report.behindNAT == false)
        #expect(report.hairpinning == true)
        // The real server answered the flagged PROBE from its observation port, and nothing filters loopback.
        #expect(report.filtering == "endpoint-independent or address-dependent")
        #expect(row.serverKey == "matches")
        #expect(!report.portMappingChecked && report.portMappingNote == "turned off")
        #expect(report.verdict.hasPrefix("UDP works; no NAT"))
        #expect(elapsed < .seconds(15), "everything answered: no wait for the 30 s timeout (\(elapsed))")
    }

    @Test func silentPortTimesOutAndWrongKeyIsReported() async throws {
        let config = ServerConfig()
        let server = try await Self.startServer(config)
        defer { Task { await server.stop() } }
        // Port 9 on loopback (discard: nothing listens) next to the real server with a wrong key.
        var options = NetCheckOptions(
            server: "127.0.0.1:\(server.port),127.0.0.1:9", serverPort: 7000,
            serverKey: String(repeating: "ab", count: 32))
        options.portMapping = false
        options.timeout = .milliseconds(700)
        let started = ContinuousClock.now
        let report = try await NetCheck.run(options)
        let elapsed = ContinuousClock.now - started
        #expect(report.servers.map(\.udpReachable) == [true, false])
        #expect(report.servers.map(\.serverKey) == ["differs", "no answer"])
        #expect(report.verdict.hasPrefix("UDP works (no answer from 127.0.0.1:9)"))
        #expect(
            elapsed >= .milliseconds(650) && elapsed < .seconds(20), "waits for the silent port, bounded (\(elapsed))")
    }

    /// UDP to the server dead (netcheck given a UDP port where nothing listens) but its TCP/TLS
    /// fallback up: the report says only the fallback works, and the agents would use it.
    @Test func onlyTheTCPFallbackAnswers() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let (runner, tcpPort) = try await startServerWithTCPFallback(group: group)
        var options = NetCheckOptions(server: "127.0.0.1:\(tcpPort)", serverPort: 7000)
        options.portMapping = false
        options.timeout = .milliseconds(800)
        options.tcpPort = tcpPort
        let report = try await NetCheck.run(options)
        #expect(!report.udp)
        #expect(report.tcpFallback == true && report.tcp443 == "port \(tcpPort): answers on 127.0.0.1")
        #expect(
            report.servers.first?.tcp?.hasPrefix("upgrade answered in ") == true,
            "\(String(describing: report.servers.first?.tcp))")
        #expect(
            report.verdict.contains(
                "the TCP/TLS fallback on port \(tcpPort) answers, so agents register and relay over it"))
        #expect(report.lines.contains("tcp443: port \(tcpPort): answers on 127.0.0.1"))

        // The same without the listener: refused, and the verdict says t2u cannot register. (The
        // freed port may meanwhile serve another test's listener, which is no t2u upgrade either:
        // the row then names that failure instead of the refusal.)
        try await runner.shutdown()
        let refused = try await NetCheck.run(options)
        let row = refused.servers.first?.tcp
        #expect(refused.tcpFallback == false, "\(String(describing: row))")
        #expect(row != nil && row?.hasPrefix("upgrade answered") == false, "\(String(describing: row))")
        #expect(refused.verdict.contains("did not answer either, so t2u cannot register from here"))
        try await group.shutdownGracefully()
    }

    /// A server on ::1 (skipped where the host has no IPv6 loopback): the row says IPv6 and the
    /// report that a server answers over IPv6.
    @Test func ipv6ServerAnswers() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        var runner: ServerRunner?
        for _ in 0..<20 where runner == nil {
            var options = ServerRunner.Options()
            options.bindHost = "::1"
            options.port = Int.random(in: 20_000..<60_000)
            let candidate = ServerRunner(
                config: ServerConfig(), options: options, logger: Logger(label: "test.server6"), group: group)
            if (try? await candidate.start()) != nil { runner = candidate } else { try? await candidate.shutdown() }
        }
        guard let runner else {
            try? await group.shutdownGracefully()
            return  // no IPv6 loopback here
        }
        var options = NetCheckOptions(server: "[::1]:\(runner.options.port)", serverPort: 7000)
        options.portMapping = false
        options.tcpPort = 0
        let report = try await NetCheck.run(options)
        try? await runner.shutdown()
        try? await group.shutdownGracefully()
        #expect(report.servers.map(\.family) == ["IPv6"] && report.servers[0].udpReachable)
        #expect(report.ipv6ServerReachable == true && report.mapping == .endpointIndependent)
        #expect(report.verdict.hasSuffix("IPv6 works"))
    }

    @Test func badArgumentsFailClosed() async {
        await #expect(throws: T2UClientError.self) {
            try await NetCheck.run(NetCheckOptions(server: "", serverPort: 7000))
        }
        await #expect(throws: T2UClientError.self) {
            try await NetCheck.run(NetCheckOptions(server: "127.0.0.1", serverPort: 7000, serverKey: "nothex"))
        }
    }
}
