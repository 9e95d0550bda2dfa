import ArgumentParser
import Dispatch
import Logging
import Metrics
import Prometheus
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

            Flags override values from --config, a file of key = value lines (LF or CRLF; lines starting with # are comments), read strictly: an unknown key, a line without =, a key given twice or an invalid value (port outside 1-65535, a negative or non-numeric number, a boolean other than true/false) stops the server with the file, the line and what to write instead. --check-config FILE validates a file and exits 0 or 1. Keys: port, observation-port, bind, key-file, log-level, server-id, keepalive (seconds), relay (true/false), relay-rate (bytes/s per session), presence-timeout (seconds), admin, admin-allow-remote (true/false), signaling-rate, signaling-burst, max-tracked-sources.

            Operator surface: --admin 127.0.0.1:9100 (or just 9100) serves GET /metrics (Prometheus text), GET /status (JSON) and GET /dashboard (a page for a browser) over HTTP. It is off by default and has no authentication, so it binds loopback unless --admin-allow-remote.

            Server key: --key-file PATH keeps the server's X25519 key pair (created 0600 on first start). Agents pin its public key: pass the 64 hex digits that --print-public-key prints as their svrkey (t2u_init, t2usvr). Without --key-file every start makes a new key, which agents cannot pin.

            Example: t2u-server --port 7000 --config /etc/t2u-server.conf

            Several servers: give each the same --database postgres://USER:PASSWORD@HOST:PORT/DB, its own --server-id, and --advertise HOST:PORT (its main port as the other servers reach it). Devices and clients may then use any of them (agents take a list, e.g. t2usvr UUID h1:7000,h2:7000): a client on one server reaches a device on another, relayed through both when no direct path works. The schema is created or migrated at start; while the database is down the servers keep serving what they know and catch up when it is back. Every server of one database needs the same --cluster-key-file (required). Config keys: database, advertise, cluster-key-file.

            Device identity: a UUID belongs to the key that first registered it; another key is refused unless the old key signs the rotation (t2usvr --rotate-key) or, with --device-ca, a vendor certificate covers it. Bindings persist in the database, or in --bindings-file without one. An operator releases one with POST /bindings/release?uuid=U on --admin, authorized by the token in --admin-token-file; GET /bindings?uuid=U shows the bound key. Config keys: bindings-file, device-ca, admin-token-file.

            Stop with SIGINT or SIGTERM.
            """,
        version: T2UVersion.string)

    @Option(name: .shortAndLong, help: "Main UDP port (signaling and relay). 0 picks a free port. (default: 7000)")
    var port: Int?

    @Option(name: .long, help: "Observation UDP port for NAT probes. (default: port + 1)")
    var observationPort: Int?

    @Option(name: .shortAndLong, help: "Address to bind both ports to. (default: 0.0.0.0)")
    var bind: String?

    @Option(name: .long, help: "The server's private key file (created 0600 if missing); its public key is the agents' svrkey.")
    var keyFile: String?

    @Flag(name: .long, help: "Print the server's public key (64 hex digits, the agents' svrkey) from --key-file and exit.")
    var printPublicKey = false

    @Option(name: .shortAndLong, help: "Read settings from a key=value file.")
    var config: String?

    @Option(name: .long, help: ArgumentHelp("Validate a config file (as --config would read it, with the other flags given) and exit: 0 valid, 1 not.", valueName: "file"))
    var checkConfig: String?

    @Option(name: .long, help: "trace, debug, info, notice, warning, error or critical. (default: info)")
    var logLevel: String?

    @Option(name: .long, help: ArgumentHelp(LogFormat.help + " (default: text)", valueName: "text|json"))
    var logFormat: String?

    @Flag(name: .long, help: "Do not relay transport packets (introductions only).")
    var noRelay = false

    @Option(name: .long, help: "Share devices with other servers through PostgreSQL: postgres://USER:PASSWORD@HOST:PORT/DB[?sslmode=disable|prefer|require].")
    var database: String?

    @Option(name: .long, help: "This server's name in the shared database; unique per server. (default: HOSTNAME:PORT)")
    var serverID: String?

    @Option(name: .long, help: "IP:PORT where the other servers reach this one's main port (default: the bound address, if specific).")
    var advertise: String?

    @Option(name: .long, help: "Serve GET /metrics, /status and /dashboard over HTTP on PORT or HOST:PORT (a bare port binds 127.0.0.1). Off by default.")
    var admin: String?

    @Flag(name: .long, help: "Allow --admin on a non-loopback address (the endpoint has no authentication).")
    var adminAllowRemote = false

    @Option(name: .long, help: "Signaling datagrams per second allowed per source address. (default: 20)")
    var signalingRate: Double?

    @Option(name: .long, help: "Signaling burst per source address. (default: 40)")
    var signalingBurst: Double?

    @Option(name: .long, help: "Source addresses the signaling rate limiter tracks; new ones beyond it are refused. (default: 100000)")
    var maxTrackedSources: Int?

    @Option(name: .long, help: ArgumentHelp("Keep UUID -> device key bindings in this file (lines `UUID HEXKEY`), so they survive restarts. Without it or --database they are lost at restart.", valueName: "path"))
    var bindingsFile: String?

    @Option(name: .long, help: ArgumentHelp("Secret (32+ bytes, mode 0600) shared by all servers of one --database; authenticates their messages and binding rows. Required with --database. Make one: head -c 32 /dev/urandom | xxd -p -c 64 > FILE; chmod 600 FILE", valueName: "path"))
    var clusterKeyFile: String?

    @Option(name: .long, help: ArgumentHelp("Closed enrollment: only devices with a certificate of one of these vendor CA public keys (t2u cert keygen) may register.", valueName: "hex[,hex...]"))
    var deviceCA: String?

    @Option(name: .long, help: ArgumentHelp("Bearer token (a file, mode 0600) for POST /bindings/release?uuid=U on --admin. Without it release is refused.", valueName: "path"))
    var adminTokenFile: String?

    func validate() throws {
        if let port, !(0...65535).contains(port) { throw ValidationError("--port must be 0...65535") }
        if let observationPort, !(0...65535).contains(observationPort) {
            throw ValidationError("--observation-port must be 0...65535")
        }
        if let logFormat, LogFormat(rawValue: logFormat) == nil { throw ValidationError("unknown --log-format '\(logFormat)': use text or json") }
        if let logLevel, Logger.Level(rawValue: logLevel) == nil { throw ValidationError("unknown --log-level \(logLevel)") }
        // The same ranges as the config file's (ServerConfigFile.schema); NaN and infinity fail both.
        if let signalingRate, !(signalingRate.isFinite && signalingRate >= 0.001) {
            throw ValidationError("--signaling-rate must be a number >= 0.001 datagrams/s")
        }
        if let signalingBurst, !(signalingBurst.isFinite && signalingBurst >= 1) { throw ValidationError("--signaling-burst must be a number >= 1") }
        if let maxTrackedSources, maxTrackedSources < 1 { throw ValidationError("--max-tracked-sources must be >= 1") }
    }

    func run() async throws {
        let configPath = checkConfig ?? config
        let file = try configPath.map(loadConfigFile) ?? ServerConfigFile()
        let levelText = logLevel ?? file["log-level"] ?? "info"
        guard let level = Logger.Level(rawValue: levelText) else { throw StartupError("unknown log level \(levelText)") }
        LogBootstrap.bootstrap(level: level, format: LogFormat(rawValue: logFormat ?? "text") ?? .text)
        let logger = Logger(label: "t2u-server")

        var serverConfig = ServerConfig()
        if let path = keyFile ?? file["key-file"] {
            do {
                serverConfig.identity = try KeyFile.loadOrCreate(path: path, what: "server key file", entropy: SystemEntropy())
            } catch {
                throw StartupError("\(error)")
            }
        } else if printPublicKey {
            throw StartupError("--print-public-key needs --key-file PATH (or key-file= in --config): without it the key is new every start")
        } else {
            logger.notice("no --key-file: this server has a new key on every start, so agents cannot pin it (svrkey); add --key-file PATH")
        }
        if printPublicKey {
            print(Hex.encode(serverConfig.identity.publicKey))
            return
        }
        if let id = serverID ?? file["server-id"] { serverConfig.serverID = id }
        // File values are already range-checked (ServerConfigFile.schema); flags in validate().
        if let seconds = file.integer("keepalive") { serverConfig.keepaliveSeconds = UInt16(seconds) }
        if let seconds = file.integer("presence-timeout") { serverConfig.presenceTimeout = .seconds(Int64(seconds)) }
        if let value = file.boolean("relay") { serverConfig.relayAllowed = value }
        if noRelay { serverConfig.relayAllowed = false }
        if let rate = file.number("relay-rate") { serverConfig.relayBytesPerSecond = rate }
        // The same budget holds per registered channel (SEALED bypasses the per-source limiter).
        if let rate = signalingRate ?? file.number("signaling-rate") {
            serverConfig.signalingPerSecond = rate
            serverConfig.channelPerSecond = max(serverConfig.channelPerSecond, rate)
        }
        if let burst = signalingBurst ?? file.number("signaling-burst") {
            serverConfig.signalingBurst = burst
            serverConfig.channelBurst = max(serverConfig.channelBurst, burst)
        }
        if let sources = maxTrackedSources ?? file.integer("max-tracked-sources") { serverConfig.maxTrackedSources = sources }

        var options = ServerRunner.Options()
        let allowRemote: Bool
        if adminAllowRemote {
            allowRemote = true
        } else if let value = file.boolean("admin-allow-remote") {
            allowRemote = value
        } else {
            allowRemote = false
        }
        if let text = admin ?? file["admin"] {
            do {
                options.admin = try AdminAddress.parse(text, allowRemote: allowRemote)
            } catch {
                throw StartupError("\(error)")
            }
        }
        options.bindHost = bind ?? file["bind"] ?? "0.0.0.0"
        if let p = port ?? file.integer("port") { options.port = p }
        options.observationPort = observationPort ?? file.integer("observation-port")
        if let url = database ?? file["database"] {
            do {
                options.database = PostgresSync.Options(url: try PostgresURL(url), clusterKey: try clusterKey(file))
            } catch let error as StartupError {
                throw error
            } catch {
                throw StartupError("--database: \(error)")
            }
            if serverID == nil && file["server-id"] == nil { serverConfig.serverID = "\(hostName()):\(options.port)" }
        }
        try identityOptions(&options, file)
        if let text = advertise ?? file["advertise"] {
            guard let address = ServerAddressList.literal(text) else {
                throw StartupError("--advertise must be IP:PORT (e.g. 192.0.2.10:7000), got \(text)")
            }
            serverConfig.advertiseAddress = address
        }

        if let checkConfig {
            print("\(checkConfig): OK")
            return
        }

        // Catch signals before starting, so one arriving during start still shuts down cleanly.
        let termination = TerminationSignals()
        let runner = ServerRunner(config: serverConfig, options: options, logger: logger)
        // Libraries that emit swift-metrics land on the same /metrics as the server's own.
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: runner.metrics.registry))
        try await runner.start()
        let signal = await termination.wait()
        logger.info("shutting down", metadata: ["signal": "\(signal)"])
        try await runner.shutdown()
    }
}

extension T2UServerCommand {
    /// Bindings file, vendor CAs, admin token and cluster key (docs/SECURITY.md §1, §4); every
    /// missing or wrong value stops the server with what to do.
    func identityOptions(_ options: inout ServerRunner.Options, _ file: ServerConfigFile) throws {
        options.bindingsFile = bindingsFile ?? file["bindings-file"]
        if let text = deviceCA ?? file["device-ca"] {
            options.deviceCAs = try text.split(separator: ",").map { hex in
                guard hex.utf8.count == 64, let key = Hex.decode(Array(hex.utf8)) else {
                    throw StartupError("--device-ca: '\(hex)' is not a CA public key (64 hex digits, as `t2u cert keygen` prints)")
                }
                return key
            }
            guard !options.deviceCAs.isEmpty else { throw StartupError("--device-ca names no key") }
        }
        if let path = adminTokenFile ?? file["admin-token-file"] {
            do {
                let token = try KeyFile.readSecret(path: path, what: "admin token file")
                guard token.count >= 16 else {
                    throw StartupError("admin token file \(path) holds \(token.count) bytes; use 16 or more (head -c 32 /dev/urandom | xxd -p -c 64)")
                }
                options.adminToken = token
            } catch let error as KeyFileError {
                throw StartupError("\(error)")
            }
        }
    }

    /// The cluster key, required with --database.
    func clusterKey(_ file: ServerConfigFile) throws -> ClusterKey {
        guard let path = clusterKeyFile ?? file["cluster-key-file"] else {
            throw StartupError("""
                --database needs --cluster-key-file FILE (the same secret on every server): make one with \
                `head -c 32 /dev/urandom | xxd -p -c 64 > FILE; chmod 600 FILE`
                """)
        }
        do {
            return try ClusterKey(secret: KeyFile.readSecret(path: path, what: "cluster key file"))
        } catch let error as KeyFileError {
            throw StartupError("\(error)")
        } catch {
            throw StartupError("cluster key file \(path): \(error)")
        }
    }
}

/// A flag's value, else the config file's; either must be a number > 0.
private func positive(_ flag: Double?, _ file: ServerConfigFile, _ key: String) throws -> Double? {
    if let flag { return flag }
    guard let text = file[key] else { return nil }
    guard let value = Double(text), value > 0 else { throw StartupError("\(key) must be a number > 0") }
    return value
}

private func hostName() -> String {
    var buffer = [CChar](repeating: 0, count: 256)
    guard gethostname(&buffer, buffer.count - 1) == 0 else { return "t2u" }
    return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// Config files larger than this are refused (a real one is a few hundred bytes).
private let configFileLimit = 1 << 20

/// Reads and strictly parses `path`; any problem is a StartupError naming file and line.
private func loadConfigFile(_ path: String) throws -> ServerConfigFile {
    guard let file = fopen(path, "rb") else {
        throw StartupError("cannot read config file \(path): \(String(cString: strerror(errno))); check the path and its permissions")
    }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = fread(&chunk, 1, chunk.count, file)
        if n <= 0 { break }
        bytes.append(contentsOf: chunk[0..<n])
        guard bytes.count <= configFileLimit else { throw StartupError("config file \(path) is larger than \(configFileLimit) bytes; is it the right file?") }
    }
    guard ferror(file) == 0 else { throw StartupError("cannot read config file \(path): read error") }
    do {
        return try ServerConfigFile(parsing: bytes, path: path)
    } catch {
        throw StartupError(error.description)
    }
}
