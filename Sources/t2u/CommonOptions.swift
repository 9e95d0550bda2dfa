// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import ArgumentParser
import Logging
import T2UClient
import T2UCommandLine
import T2UNIO

/// Where the server cloud is (what `t2u_init` takes).
struct ServerOptions: ParsableArguments {
    @Option(
        name: .long,
        help:
            "t2u-server IP address (IPv4, or IPv6 as 2001:db8::1 or [2001:db8::1]:PORT) or host name, HOST:PORT, or several as h1:p1,h2:p2 (tried in turn)."
    )
    var server: String

    @Option(name: .long, help: "t2u-server main UDP port, for --server entries without one.")
    var port: Int = 7000

    @Option(
        name: .long,
        help:
            "svrkey: the server's public key, 64 hex digits (t2u-server --print-public-key); else the environment variable T2U_SERVER_KEY. Omitted: the server is not authenticated."
    )
    var key: String?

    @Option(
        name: .customLong("tcp-port"),
        help: "t2u-server TCP/TLS fallback port, tried only when UDP to the server goes unanswered (0: never).")
    var tcpPort: Int = 443

    func validate() throws {
        guard (1...65535).contains(port) else { throw ValidationError("--port must be 1...65535") }
        guard (0...65535).contains(tcpPort) else {
            throw ValidationError("--tcp-port must be 0...65535 (0: no TCP fallback)")
        }
        guard !server.isEmpty else { throw ValidationError("--server must not be empty") }
    }

    /// The servers with their ports, as people read them ("192.0.2.1:7000").
    var label: String { ServerAddressList.display(server, defaultPort: UInt16(port)) }

    var clientOptions: T2UClientOptions {
        var options = T2UClientOptions(server: server, serverPort: UInt16(port), serverKey: serverKey(flag: key))
        if tcpPort != 0 { options.serverStream = ServerStreamOptions(port: tcpPort) }
        return options
    }
}

/// Diagnosis: pin the link to one kind of path (`directDisabled` / `relayDisabled`, contracts
/// the connection enforces).
struct PathOptions: ParsableArguments {
    @Flag(
        name: .long,
        help: "Use only the server's relay: direct and LAN paths are never tried, nor followed when the device punches."
    )
    var relayOnly = false

    @Flag(name: .long, help: "Never use the server's relay: the link is direct (WAN or LAN) or it fails with -2.")
    var directOnly = false

    func validate() throws {
        if relayOnly && directOnly {
            throw ValidationError("--relay-only and --direct-only exclude each other: choose one")
        }
    }

    func apply(to options: inout T2UClientOptions) {
        options.directDisabled = relayOnly
        options.relayDisabled = directOnly
    }
}

/// Diagnostics go to stderr through swift-log; results go to stdout.
struct LogOptions: ParsableArguments {
    @Option(name: .long, help: "Diagnostics on stderr: trace, debug, info, notice, warning, error or critical.")
    var logLevel: String = "warning"

    @OptionGroup var format: LogFormatOption

    func validate() throws {
        if Logger.Level(rawValue: logLevel) == nil { throw ValidationError("unknown --log-level \(logLevel)") }
    }

    func bootstrap() {
        format.bootstrap(level: Logger.Level(rawValue: logLevel) ?? .warning)
    }
}

/// The device password, from --password (visible in ps: warned), --password-file or
/// T2U_PASSWORD, in that order.
struct PasswordOptions: ParsableArguments {
    @Option(
        name: .long,
        help:
            "Device password (t2usvr --password), if it has one. Other users see it in the process list: prefer --password-file or T2U_PASSWORD."
    )
    var password: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "File holding the device password (mode 0600, not a symlink; a final newline is ignored). Precedence: --password, then --password-file, then the environment variable T2U_PASSWORD.",
            valueName: "path"))
    var passwordFile: String?

    /// Call after logging is bootstrapped (the --password warning is logged).
    func resolve() throws -> String? {
        do {
            let secret = try CommandLineSecret.resolve(
                flag: password, file: passwordFile, environmentVariable: "T2U_PASSWORD", what: "password file")
            if secret?.source == .flag {
                Logger(label: "t2u").warning(
                    "\(CommandLineSecret.flagWarning(flag: "--password", fileFlag: "--password-file", environmentVariable: "T2U_PASSWORD"))"
                )
            }
            return secret?.value
        } catch {
            printError("\(error)")
            throw ExitCode(1)
        }
    }
}

/// Where device keys are pinned (trust on first use; a changed key is refused).
struct KnownDevicesOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Known-devices file: one 'UUID KEY' line per pinned device. Default: $T2U_KNOWN_DEVICES, else $XDG_CONFIG_HOME/t2u/known_devices, else ~/.config/t2u/known_devices.",
            valueName: "path"))
    var knownDevices: String?

    var location: KnownDevicesLocation { knownDevices.map { .file($0) } ?? .default }
}

/// The server key from --key, else the environment variable T2U_SERVER_KEY.
func serverKey(flag: String?) -> String? {
    flag ?? CommandLineSecret.processEnvironment("T2U_SERVER_KEY").flatMap { $0.isEmpty ? nil : $0 }
}
