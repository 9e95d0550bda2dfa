// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import ArgumentParser
import T2UClient
import T2UCore

struct Search: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Find devices on the local LAN (multicast discovery, no server needed).",
        discussion: """
            Sends a discovery probe to the multicast group (and to the IPv6 group on every IPv6 interface) and prints one line per device that answers within --timeout seconds, as `uuid=...,ip=...` (the format of t2u_search); a device answering on both families is listed once, with its IPv4 address. The devices' t2usvr must answer discovery on the same group and port.

            Discovery is link-local: devices answer only hosts on their own subnets, and only replies from hosts on this machine's subnets whose UUID is printable ASCII without spaces or commas (1-64 bytes) are printed.

            Exit status: 0 (also when nothing answered), 1 if the probe could not be sent.

            Example: t2u search --timeout 2
            """)

    @Option(name: .long, help: "Seconds to listen for answers.")
    var timeout: Double = 1
    @Option(name: .long, help: "Multicast group (or broadcast/unicast address) the probe goes to.")
    var address: String = DiscoveryGroups.ipv4
    @Option(name: .customLong("ipv6-group"), help: "IPv6 group also probed, once per IPv6 interface (\"\": IPv4 only).")
    var ipv6Group: String = DiscoveryGroups.ipv6
    @Option(name: .long, help: "UDP port devices answer discovery on.")
    var discoveryPort: Int = 7011
    @Option(name: .long, help: "A t2u-server to register with meanwhile (discovery does not need it).")
    var server: String = "127.0.0.1"
    @Option(name: .long, help: "That server's port.")
    var port: Int = 7000
    @OptionGroup var output: JSONOutputOptions
    @OptionGroup var log: LogOptions

    func validate() throws {
        guard timeout > 0 && timeout <= 600 else { throw ValidationError("--timeout must be in (0, 600] seconds") }
        guard (1...65535).contains(discoveryPort) else { throw ValidationError("--discovery-port must be 1...65535") }
        guard (1...65535).contains(port) else { throw ValidationError("--port must be 1...65535") }
    }

    func run() async throws {
        log.bootstrap()
        var options = T2UClientOptions(server: server, serverPort: UInt16(port))
        options.discoveryAddress = address
        options.discoveryAddressIPv6 = ipv6Group.isEmpty ? nil : ipv6Group
        options.discoveryPort = UInt16(discoveryPort)
        options.knownDevices = .memory  // discovery contacts no device over the tunnel
        let client = try await T2UClient(options: options)
        do {
            let devices = try await client.search(timeout: .seconds(fractional: timeout))
            await client.shutdown()
            if output.json {
                printJSON(devices.map { ["uuid": $0.uuid, "ip": $0.ip] })
            } else {
                for device in devices { print("uuid=\(device.uuid),ip=\(device.ip)") }
            }
        } catch {
            await client.shutdown()
            printError("search failed: \(error)")
            throw ExitCode(1)
        }
    }
}
