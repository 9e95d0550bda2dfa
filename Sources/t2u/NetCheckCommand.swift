// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import ArgumentParser
import Foundation
import T2UClient
import T2UCore

struct NetCheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "netcheck",
        abstract:
            "Measure this network as t2u sees it: UDP to each server, the NAT's mapping and filtering, hairpinning, port mapping, IPv6.",
        discussion: """
            Without registering, sends a few PROBE requests from one UDP socket to each server's main port and its observation port (main + 1), and prints one line per fact, then a verdict in words:
              server ...: UDP reachable, latency (median of the probes), the address the server sees us as
              mapping: endpoint-independent (one public port for every destination: cone) or endpoint-dependent (a new port per destination: symmetric; ports sequential or random)
              hairpinning: does a datagram from a second socket to our public address come back through the NAT
              port mapping: which of PCP, NAT-PMP, UPnP-IGD answer on this LAN (a 60 s test mapping is asked for and deleted again)
              IPv6: a global IPv6 address on this host; does an IPv6 server answer
              tcp443: does each server's TCP/TLS fallback (--tcp-port, 443; 0: not checked) answer the TLS upgrade the agents use where UDP is blocked
              filtering: from a second socket, PROBEs to the main port only, half of them asking for the answer from the observation port: endpoint-independent or address-dependent when that answer comes in (any port of a host we wrote to may answer), address-and-port-dependent when only the others do
            Every probe is bounded by --timeout (the port-mapping probe by at least 1.6 s); the run ends within about that plus half a second.

            Exit status: 0 UDP works, 1 no server answered over UDP (even if the TCP/TLS fallback answers), 2 a server stated another key than --key.

            Example: t2u netcheck --server t2u.example.com
                     t2u netcheck --server 192.0.2.10:7000,192.0.2.11:7000 --json
            """)

    @OptionGroup var server: ServerOptions
    @Option(name: .long, help: "Seconds the probes may take (0.2...30).")
    var timeout: Double = 2
    @Flag(name: .long, help: "Do not ask the LAN's gateway or UPnP IGDs for a test mapping.")
    var noPortMapping = false
    @OptionGroup var output: JSONOutputOptions
    @OptionGroup var log: LogOptions

    func validate() throws {
        guard (0.2...30).contains(timeout) else { throw ValidationError("--timeout must be 0.2...30 seconds") }
    }

    func run() async throws {
        log.bootstrap()
        var options = NetCheckOptions(
            server: server.server, serverPort: UInt16(server.port), serverKey: serverKey(flag: server.key))
        options.timeout = .seconds(fractional: timeout)
        options.portMapping = !noPortMapping
        options.tcpPort = server.tcpPort
        let report: NetCheckReport
        do {
            report = try await NetCheck.run(options)
        } catch {
            printError("\(error)")
            throw ExitCode(1)
        }
        if output.json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            for line in report.lines { print(line) }
        }
        if report.servers.contains(where: { $0.serverKey == "differs" }) { throw ExitCode(2) }
        if !report.udp { throw ExitCode(1) }
    }
}
