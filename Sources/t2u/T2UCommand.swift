// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import ArgumentParser
import T2UVersion

@main
struct T2UCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "t2u",
        abstract: "Reach TCP services of devices behind NAT, peer to peer, through a t2u server cloud.",
        discussion: """
            A device runs the agent (t2usvr) and registers its UUID with a t2u-server. This command is a client: it asks the server about devices, finds devices on the local LAN, tells what this network allows (t2u netcheck: UDP, NAT type, port mapping, IPv6), and maps a device's TCP port to a local port (t2u forward), so any program can connect to 127.0.0.1:LOCAL_PORT with its own protocol.

            Start with `t2u demo`: it runs a server, a device agent and a client on this machine and moves data through a mapped port, verified with SHA-256.

            Run `t2u help SUBCOMMAND` for the options of each subcommand.
            """,
        version: T2UVersion.string,
        subcommands: [
            Status.self, NetCheckCommand.self, Query.self, Search.self, Forward.self, Check.self, Demo.self, Cert.self,
        ])
}
