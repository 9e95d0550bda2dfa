import ArgumentParser
import Dispatch
import Logging
import T2UDevice

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

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
            """)

    @Argument(help: "Device UUID (1-64 bytes) under which clients find this device.")
    var uuid: String

    @Argument(help: "Server IP address or host name.")
    var server: String

    @Argument(help: "Server UDP port.")
    var port: UInt16

    @Argument(help: "Server key, if the server requires one.")
    var key: String?

    @Option(help: "Password clients must know (never sent over the network).")
    var password: String?

    @Option(help: "Extra parameters returned to clients by t2u_query_ex (<= 512 bytes).")
    var extra: String = ""

    @Option(name: .customLong("allow"), parsing: .singleValue,
            help: "LAN host/network and ports clients may reach, e.g. 192.168.1.20:554 or 10.0.0.0/24:80,443 (repeatable).")
    var allow: [String] = []

    @Option(help: "File holding the device's private key (created with mode 0600 on first start). Default: key in memory only, new on every start.")
    var state: String?

    @Option(name: .customLong("udp-port"), help: "UDP port of the agent's socket (0: any).")
    var udpPort: UInt16 = 0

    @Flag(name: .customLong("no-discovery"), help: "Do not answer LAN discovery.")
    var noDiscovery = false

    @Option(name: .customLong("discovery-port"), help: "UDP port answering LAN discovery.")
    var discoveryPort: UInt16 = 7011

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String = "info"

    func validate() throws {
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("unknown --log-level '\(logLevel)'")
        }
    }

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "t2usvr")

        var options = DeviceAgentOptions(uuid: uuid, server: server, serverPort: port, serverKey: key)
        options.password = password
        options.extra = extra
        options.allow = allow
        options.statePath = state
        options.udpPort = udpPort
        if noDiscovery { options.discoveryAddress = nil }
        options.discoveryPort = discoveryPort

        let agent: DeviceAgent
        do {
            agent = try DeviceAgent(options: options, logger: logger)
            try await agent.start()
        } catch let error as DeviceAgentError {
            throw ValidationError(error.description)
        }
        await Self.waitForTermination()
        logger.notice("signal received, shutting down")
        await agent.shutdown()
    }

    /// Suspends until SIGINT or SIGTERM.
    static func waitForTermination() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let queue = DispatchQueue(label: "t2usvr.signals")
            let once = Once(continuation)
            var sources: [DispatchSourceSignal] = []
            for signalNumber in [SIGINT, SIGTERM] {
                signal(signalNumber, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: queue)
                source.setEventHandler { once.fire() }
                source.resume()
                sources.append(source)
            }
            once.keep(sources)
        }
    }
}

/// Resumes the continuation on the first signal; keeps the signal sources alive till then.
private final class Once: @unchecked Sendable {
    private var continuation: CheckedContinuation<Void, Never>?
    private var sources: [DispatchSourceSignal] = []
    private let queue = DispatchQueue(label: "t2usvr.once")

    init(_ continuation: CheckedContinuation<Void, Never>) { self.continuation = continuation }

    func keep(_ sources: [DispatchSourceSignal]) { queue.sync { self.sources = sources } }

    func fire() {
        queue.sync {
            continuation?.resume()
            continuation = nil
        }
    }
}
