// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import ArgumentParser
import Dispatch
import Logging
import ServiceLifecycle
import T2UCommandLine
import T2UCore
import T2UDevice
import T2UNIO
import T2UVersion

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

extension T2USvr {
    /// --cert and --rotate-key (docs/SECURITY.md §1): the certificate goes into every REGISTER;
    /// a rotation registers the new key with the old key's proof and commits the new key file
    /// once the server accepted it.
    func identityOptions(_ options: inout DeviceAgentOptions, logger: Logger) throws {
        guard let state else { return }
        var deviceKeyPath = state
        if rotateKey || KeyRotationPlan.pending(statePath: state) {
            let plan: KeyRotationPlan
            do {
                plan = try KeyRotationPlan.prepare(statePath: state)
            } catch {
                throw StartupError(error.description)
            }
            logger.notice(
                "rotating the device key: registering the new key with a proof by the old one",
                metadata: [
                    "old": "\(Hex.encode(plan.old.publicKey))", "new": "\(Hex.encode(plan.new.publicKey))",
                    "newKeyFile": "\(plan.newPath)",
                ])
            deviceKeyPath = plan.newPath
            options.statePath = plan.newPath
            options.rotatingFrom = plan.old
            options.onRegistered = { [logger] in
                do {
                    try plan.commit()
                    logger.notice(
                        "key rotation done: the server bound this UUID to the new key",
                        metadata: ["state": "\(plan.statePath)"])
                } catch {
                    // Already committed by an earlier registration, or the rename failed: say so.
                    if KeyRotationPlan.pending(statePath: plan.statePath) { logger.error("key rotation: \(error)") }
                }
            }
        }
        if let cert {
            let key: [UInt8]
            do {
                key = try KeyFile.loadOrCreate(path: deviceKeyPath, what: "state file", entropy: SystemEntropy())
                    .publicKey
            } catch {
                throw StartupError(error.description)
            }
            do {
                options.certificate = try DeviceCertificateFile.load(path: cert, uuid: uuid, deviceKey: key).bytes
            } catch {
                throw StartupError(error.description)
            }
        }
    }
}

/// The device agent, launched exactly as vendors launch the original:
/// `t2usvr <uuid> <server> <port> [key]`.
@main
struct T2USvr: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "t2usvr",
        abstract: "t2u device agent: registers this device with a t2u server and serves tunnels to it.",
        discussion: """
            Runs until SIGINT or SIGTERM. Clients reach TCP services on this device; other LAN \
            hosts only as --allow permits. Keep --state on persistent storage: clients pin the \
            device key it holds.

            SIGHUP re-reads --password-file (new sessions need the new password; open sessions keep going) and --cert (sent at the next registration), and logs what changed. A file that no longer reads or checks is refused with an error naming it, and the running value stays.

            Secrets off the command line: the password from --password-file PATH or the environment variable T2U_PASSWORD (--password works too but other users see it in ps); the server key from the environment variable T2U_SERVER_KEY when not given as the fourth argument.
            """,
        version: T2UVersion.string)

    @Argument(help: "Device UUID (1-64 bytes) under which clients find this device.")
    var uuid: String

    @Argument(
        help:
            "Server IP address (IPv4, or IPv6 as 2001:db8::1 or [2001:db8::1]:PORT) or host name; several as h1:p1,h2:p2 (or a name with several addresses): the agent moves to the next when one stops answering."
    )
    var server: String

    @Argument(help: "Server UDP port.")
    var port: UInt16

    @Argument(
        help:
            "svrkey: the server's public key, 64 hex digits (t2u-server --print-public-key); else the environment variable T2U_SERVER_KEY. Without it the server is trusted unauthenticated (a warning says so)."
    )
    var key: String?

    @Option(
        help:
            "Password clients must know (never sent over the network). Visible to other users in the process list: prefer --password-file or T2U_PASSWORD."
    )
    var password: String?

    @Option(
        name: .customLong("password-file"),
        help: ArgumentHelp(
            "File holding the password (mode 0600, not a symlink; a final newline is ignored). Precedence: --password, then --password-file, then the environment variable T2U_PASSWORD.",
            valueName: "path"))
    var passwordFile: String?

    @Option(help: "Extra parameters returned to clients by t2u_query_ex (<= 512 bytes).")
    var extra: String = ""

    @Option(
        name: .customLong("allow"), parsing: .singleValue,
        help: ArgumentHelp(
            "LAN host/network and ports clients may reach, e.g. 198.51.100.20:554 or 203.0.113.0/24:80,443 (repeatable).",
            valueName: "entry"))
    var allow: [String] = []

    @Option(
        help: ArgumentHelp(
            "File holding the device's private key (created with mode 0600 on first start). Default: key in memory only, new on every start.",
            valueName: "path"))
    var state: String?

    @Option(name: .customLong("udp-port"), help: "UDP port of the agent's socket (0: any).")
    var udpPort: UInt16 = 0

    @Option(
        name: .customLong("tcp-port"),
        help: "t2u-server TCP/TLS fallback port, tried only when UDP to the server goes unanswered (0: never).")
    var tcpPort: UInt16 = 443

    @Flag(name: .customLong("no-discovery"), help: "Do not answer LAN discovery.")
    var noDiscovery = false

    @Flag(
        name: .customLong("no-port-mapping"),
        help: "Do not ask the LAN's router (PCP, NAT-PMP, UPnP-IGD) to map the agent's UDP port.")
    var noPortMapping = false

    @Option(
        name: .customLong("birthday-sockets"),
        help: ArgumentHelp(
            "Auxiliary UDP sockets the agent may open to punch a symmetric NAT from behind its own (0-\(EndpointDriver.maxAuxiliarySockets); 0: none, such pairs use the relay).",
            valueName: "n"))
    var birthdaySockets: Int = TraversalConfig().birthdaySockets

    @Option(name: .customLong("discovery-port"), help: "UDP port answering LAN discovery.")
    var discoveryPort: UInt16 = 7011

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String = "info"

    @OptionGroup var logging: LogFormatOption

    @Option(
        help: ArgumentHelp(
            "Vendor certificate for this UUID and device key (t2u cert issue), for servers with closed enrollment; checked at start.",
            valueName: "path"))
    var cert: String?

    @Flag(
        name: .customLong("print-public-key"),
        help: "Print the device public key from --state (created if missing) and exit (for t2u cert issue).")
    var printPublicKey = false

    @Flag(
        name: .customLong("rotate-key"),
        help:
            "Move this UUID to a new key: made in <state>.new (0600), registered with a proof by the old key, then renamed over --state once the server accepted it. An interrupted rotation continues at the next start."
    )
    var rotateKey = false

    func validate() throws {
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("unknown --log-level '\(logLevel)'")
        }
        guard (0...EndpointDriver.maxAuxiliarySockets).contains(birthdaySockets) else {
            throw ValidationError(
                "--birthday-sockets \(birthdaySockets) is out of range: use 0 to \(EndpointDriver.maxAuxiliarySockets)")
        }
        if (printPublicKey || rotateKey || cert != nil) && state == nil {
            throw ValidationError(
                "--print-public-key, --rotate-key and --cert need --state FILE (the device key they refer to)")
        }
    }

    func run() async throws {
        logging.bootstrap(level: Logger.Level(rawValue: logLevel) ?? .info)
        let logger = Logger(label: "t2usvr")
        if printPublicKey, let state {
            do {
                return print(
                    Hex.encode(
                        try KeyFile.loadOrCreate(path: state, what: "state file", entropy: SystemEntropy()).publicKey))
            } catch {
                throw StartupError(error.description)
            }
        }

        let serverKey = key ?? CommandLineSecret.processEnvironment("T2U_SERVER_KEY").flatMap { $0.isEmpty ? nil : $0 }
        var options = DeviceAgentOptions(uuid: uuid, server: server, serverPort: port, serverKey: serverKey)
        // SIGHUP re-reads the password only when it came from a file (not the flag or environment).
        var reloadedPasswordFile: String?
        do {
            let secret = try CommandLineSecret.resolve(
                flag: password, file: passwordFile, environmentVariable: "T2U_PASSWORD", what: "password file")
            if secret?.source == .flag {
                logger.warning(
                    "\(CommandLineSecret.flagWarning(flag: "--password", fileFlag: "--password-file", environmentVariable: "T2U_PASSWORD"))"
                )
            }
            options.password = secret?.value
            if case .file(let path)? = secret?.source { reloadedPasswordFile = path }
        } catch {
            throw StartupError(error.description)
        }
        options.extra = extra
        options.allow = allow
        options.statePath = state
        try identityOptions(&options, logger: logger)
        options.udpPort = udpPort
        if tcpPort != 0 { options.serverStream = ServerStreamOptions(port: Int(tcpPort)) }
        if noDiscovery { options.discoveryAddress = nil }
        if noPortMapping { options.portMapping = false }
        options.traversal.birthdaySockets = birthdaySockets
        options.discoveryPort = discoveryPort

        // The group traps the signals before the agent starts: one arriving during the start
        // still shuts down cleanly, once the start is over. SIGHUP is trapped from here on too.
        do {
            let agent = try DeviceAgent(options: options, logger: logger)
            let reloader = DeviceReloader(
                agent: agent, passwordFile: reloadedPasswordFile, password: options.password, certificateFile: cert,
                certificate: options.certificate)
            let services = ServiceGroup(
                configuration: ServiceGroupConfiguration(
                    services: [
                        DeviceAgentService(agent: agent),
                        await HangupReloadService(logger: logger) { await reloader.reload() },
                    ],
                    gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
            try await services.run()
        } catch let error as DeviceAgentError {
            throw StartupError(error.description)
        }
    }
}
