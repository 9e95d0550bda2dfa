// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import ArgumentParser
import Logging
import Metrics
import Prometheus
import ServiceLifecycle
import T2UCommandLine
import T2UCore
import T2UNIO
import T2UServer
import T2UVersion

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@main
struct T2UServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "t2u-server",
        abstract: "The t2u server cloud: registration, queries, introductions and relay for t2u agents.",
        discussion: """
            Devices (t2usvr) and clients (libt2u) register over UDP on the main port, keep their NAT binding alive with keepalives, and ask the server to introduce them for a P2P session. When no direct path works, the server relays the end-to-end encrypted transport packets (it never sees plaintext).

            A second UDP port (default: main port + 1) answers probes, so agents learn whether their NAT mapping is endpoint-independent. Open both ports in the firewall.

            Settings come from flags, then environment variables T2U_SERVER_<KEY> (relay-rate: T2U_SERVER_RELAY_RATE), then --config FILE (key = value lines; LF or CRLF; lines starting with # are comments), then the defaults: a flag wins over a variable, a variable over the file. Every source is read strictly: an unknown key or variable, a line without =, a key given twice or an invalid value (port outside 1-65535, a negative or non-numeric number, a boolean other than true/false) stops the server with the file and line (or the flag or variable) and what to write instead. --check-config FILE checks the file, the variables and the flags given and exits 0 or 1. Keys: port, observation-port, tcp-port, bind, key-file, log-level, server-id, keepalive (seconds), relay (true/false), relay-rate (bytes/s per session), presence-timeout (seconds), admin, admin-allow-remote (true/false), signaling-rate, signaling-burst, max-tracked-sources. docs/CONFIGURATION.md has the whole table.

            SIGHUP re-reads the file and applies log-level, relay, relay-rate, signaling-rate, signaling-burst, device-ca and admin-token-file (re-read even under the same name) at once; it logs what changed at info and, as a warning, the keys that need a restart (ports, key-file, database, ...). A file that does not check keeps the running configuration and logs why.

            Operator surface: --admin 127.0.0.1:9100 (or just 9100) serves GET /metrics (Prometheus text), GET /status (JSON) and GET /dashboard (a page for a browser) over HTTP. It is off by default and has no authentication, so it binds loopback unless --admin-allow-remote.

            Server key: --key-file PATH keeps the server's X25519 key pair (created 0600 on first start). Agents pin its public key: pass the 64 hex digits that --print-public-key prints as their svrkey (t2u_init, t2usvr). Without --key-file every start makes a new key, which agents cannot pin.

            Example: t2u-server --port 7000 --config /etc/t2u-server.conf

            Several servers: give each the same --database postgres://USER:PASSWORD@HOST:PORT/DB, its own --server-id, and --advertise HOST:PORT (its main port as the other servers reach it). Devices and clients may then use any of them (agents take a list, e.g. t2usvr UUID h1:7000,h2:7000): a client on one server reaches a device on another, relayed through both when no direct path works. The schema is created or migrated at start; while the database is down the servers keep serving what they know and catch up when it is back. Every server of one database needs the same --cluster-key-file (required). Config keys: database, advertise, cluster-key-file.

            Device identity: a UUID belongs to the key that first registered it; another key is refused unless the old key signs the rotation (t2usvr --rotate-key) or, with --device-ca, a vendor certificate covers it. Bindings persist in the database, or in --bindings-file without one (with one, the file is a local copy for a start while the database is down). An operator releases one with POST /bindings/release?uuid=U on --admin, authorized by the token in --admin-token-file; GET /bindings?uuid=U shows the bound key. Config keys: bindings-file, device-ca, admin-token-file.

            Stop with SIGINT or SIGTERM (graceful: sockets closed, counters logged).
            """,
        version: T2UVersion.string)

    @Option(name: .shortAndLong, help: "Main UDP port (signaling and relay). 0 picks a free port. (default: 7000)")
    var port: Int?

    @Option(name: .long, help: "Observation UDP port for NAT probes. (default: port + 1)")
    var observationPort: Int?

    @Option(
        name: .long,
        help:
            "TCP port of the TLS fallback for agents whose UDP is blocked (443 in deployments; self-signed certificate, agents authenticate the server by its key). 0 picks a free port. (default: none)"
    )
    var tcpPort: Int?

    @Option(
        name: .shortAndLong,
        help:
            "Addresses to bind both ports to, comma-separated, one socket each (IPv6 ones IPv6-only). (default: 0.0.0.0,::)"
    )
    var bind: String?

    @Option(
        name: .long,
        help: "The server's private key file (created 0600 if missing); its public key is the agents' svrkey.")
    var keyFile: String?

    @Flag(
        name: .long, help: "Print the server's public key (64 hex digits, the agents' svrkey) from --key-file and exit."
    )
    var printPublicKey = false

    @Option(name: .shortAndLong, help: "Read settings from a key=value file.")
    var config: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Validate a config file (as --config would read it, with the other flags given) and exit: 0 valid, 1 not.",
            valueName: "file"))
    var checkConfig: String?

    @Option(name: .long, help: "trace, debug, info, notice, warning, error or critical. (default: info)")
    var logLevel: String?

    @OptionGroup var logging: LogFormatOption

    @Flag(name: .long, help: "Do not relay transport packets (introductions only).")
    var noRelay = false

    @Option(
        name: .long,
        help:
            "Share devices with other servers through PostgreSQL: postgres://USER:PASSWORD@HOST:PORT/DB[?sslmode=disable|prefer|require]."
    )
    var database: String?

    @Option(name: .long, help: "This server's name in the shared database; unique per server. (default: HOSTNAME:PORT)")
    var serverID: String?

    @Option(
        name: .long,
        help: "IP:PORT where the other servers reach this one's main port (default: the bound address, if specific).")
    var advertise: String?

    @Option(
        name: .long,
        help:
            "Serve GET /metrics, /status and /dashboard over HTTP on PORT or HOST:PORT (a bare port binds 127.0.0.1). Off by default."
    )
    var admin: String?

    @Flag(name: .long, help: "Allow --admin on a non-loopback address (the endpoint has no authentication).")
    var adminAllowRemote = false

    @Option(name: .long, help: "Signaling datagrams per second allowed per source address. (default: 20)")
    var signalingRate: Double?

    @Option(name: .long, help: "Signaling burst per source address. (default: 40)")
    var signalingBurst: Double?

    @Option(
        name: .long,
        help: "Source addresses the signaling rate limiter tracks; new ones beyond it are refused. (default: 100000)")
    var maxTrackedSources: Int?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Keep UUID -> device key bindings in this file (lines `UUID HEXKEY`), so they survive restarts. Without it or --database they are lost at restart. With --database it is a local copy of the database's bindings, so a server started while the database is down still serves the devices it knows.",
            valueName: "path"))
    var bindingsFile: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Secret (32+ bytes, mode 0600) shared by all servers of one --database; authenticates their messages and binding rows. Required with --database. Make one: head -c 32 /dev/urandom | xxd -p -c 64 > FILE; chmod 600 FILE",
            valueName: "path"))
    var clusterKeyFile: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Closed enrollment: only devices with a certificate of one of these vendor CA public keys (t2u cert keygen) may register.",
            valueName: "hex[,hex...]"))
    var deviceCA: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Bearer token (a file, mode 0600) for POST /bindings/release?uuid=U on --admin. Without it release is refused.",
            valueName: "path"))
    var adminTokenFile: String?

    @Option(
        name: .long, help: "Relay budget per session, bytes per second (both directions together). (default: 125000000)"
    )
    var relayRate: Double?

    @Option(name: .long, help: "Keepalive period told to agents, seconds. (default: 20)")
    var keepalive: Int?

    @Option(name: .long, help: "Seconds without a keepalive before an agent is offline. (default: keepalive + 3)")
    var presenceTimeout: Int?

    /// The options given, under their config keys (checked with the file's rules when loaded).
    var flagSettings: [String: String] {
        var flags: [String: String?] = [
            "port": port.map(String.init), "observation-port": observationPort.map(String.init),
            "tcp-port": tcpPort.map(String.init), "bind": bind,
            "key-file": keyFile, "log-level": logLevel, "server-id": serverID, "database": database,
            "advertise": advertise,
            "admin": admin, "signaling-rate": signalingRate.map { "\($0)" },
            "signaling-burst": signalingBurst.map { "\($0)" },
            "max-tracked-sources": maxTrackedSources.map(String.init), "bindings-file": bindingsFile,
            "cluster-key-file": clusterKeyFile, "device-ca": deviceCA, "admin-token-file": adminTokenFile,
            "relay-rate": relayRate.map { "\($0)" }, "keepalive": keepalive.map(String.init),
            "presence-timeout": presenceTimeout.map(String.init),
        ]
        if noRelay { flags["relay"] = "false" }
        if adminAllowRemote { flags["admin-allow-remote"] = "true" }
        return flags.compactMapValues { $0 }
    }

    func run() async throws {
        let sources = ServerConfigSources(
            flags: flagSettings, environment: processEnvironment(), filePath: checkConfig ?? config)
        let settings = try sources.load()
        logging.bootstrap(level: settings.logLevel)
        let logger = Logger(label: "t2u-server")

        let identity = try settings.identity()
        if printPublicKey {
            guard let identity else {
                throw StartupError(
                    "--print-public-key needs --key-file PATH (or key-file= in --config): without it the key is new every start"
                )
            }
            print(Hex.encode(identity.publicKey))
            return
        }
        if identity == nil {
            logger.notice(
                "no --key-file: this server has a new key on every start, so agents cannot pin it (svrkey); add --key-file PATH"
            )
        }
        let (serverConfig, options) = try settings.serverSetup(identity: identity)
        if let checkConfig {
            print("\(checkConfig): OK")
            return
        }

        let runner = ServerRunner(config: serverConfig, options: options, logger: logger)
        // Libraries that emit swift-metrics land on the same /metrics as the server's own.
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: runner.metrics.registry))
        let reloader = ServerConfigReloader(
            sources: sources, settings: settings, adminToken: options.adminToken, runner: runner)
        let services = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [
                    ServerService(runner: runner),
                    await HangupReloadService(logger: logger) { await reloader.reloadOutcome() },
                ],
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await services.run()
    }
}

/// The process's environment variables (the server reads those starting with T2U_SERVER_).
private func processEnvironment() -> [String: String] {
    var variables: [String: String] = [:]
    var entry = environ
    while let pointer = entry.pointee {
        let text = String(cString: pointer)
        if let equals = text.firstIndex(of: "=") {
            variables[String(text[..<equals])] = String(text[text.index(after: equals)...])
        }
        entry += 1
    }
    return variables
}
