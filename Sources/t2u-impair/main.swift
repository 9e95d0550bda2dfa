// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import ArgumentParser
import Logging
import NIOCore
import NIOPosix
import T2UCommandLine
import T2UCore
import T2UImpair
import T2UNIO
import T2USim
import T2UVersion

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

struct Impair: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "t2u-impair",
        abstract:
            "A userspace UDP impairment proxy: delay, jitter, loss, reordering, duplication and a rate-limited bottleneck.",
        discussion: """
            Clients send to --listen; datagrams go to --upstream from one socket per client, and the \
            upstream's replies are relayed back to that client. The impairments apply to each \
            direction separately (so --delay-ms 10 adds 20 ms to the round trip); the bottleneck of \
            one direction is shared by all clients. Stats are printed on SIGINT/SIGTERM.

            Example: t2u-impair --listen 127.0.0.1:9000 --upstream 127.0.0.1:9001 \\
                       --delay-ms 10 --jitter-ms 2 --loss 0.01 --rate-mbit 100 --queue-kb 256
            """,
        version: T2UVersion.string)

    @Option(help: "Address clients send to, host:port ([v6]:port for IPv6).")
    var listen: String

    @Option(help: "Address datagrams are forwarded to, host:port ([v6]:port for IPv6).")
    var upstream: String

    @Option(name: .customLong("delay-ms"), help: "One-way delay per direction, milliseconds.")
    var delayMs: Double = 0

    @Option(name: .customLong("jitter-ms"), help: "Uniform extra delay 0...N ms (keeps packet order).")
    var jitterMs: Double = 0

    @Option(help: "Random loss probability per datagram, 0...1.")
    var loss: Double = 0

    @Option(help: "Probability that a datagram is held back by --reorder-delay-ms so later ones overtake it, 0...1.")
    var reorder: Double = 0

    @Option(name: .customLong("reorder-delay-ms"), help: "Extra delay of reordered datagrams, milliseconds.")
    var reorderDelayMs: Double = 5

    @Option(help: "Probability that a datagram is delivered twice, 0...1.")
    var duplicate: Double = 0

    @Option(name: .customLong("rate-mbit"), help: "Bottleneck rate per direction in Mbit/s (default: unlimited).")
    var rateMbit: Double?

    @Option(name: .customLong("up-rate-mbit"), help: "Rate client -> upstream, overriding --rate-mbit.")
    var upRateMbit: Double?

    @Option(name: .customLong("down-rate-mbit"), help: "Rate upstream -> client, overriding --rate-mbit.")
    var downRateMbit: Double?

    @Option(
        name: .customLong("queue-kb"),
        help: "Drop-tail queue limit of the bottleneck in KiB (default: unbounded; needs --rate-mbit).")
    var queueKb: Int?

    @Option(help: "Seed of the impairments' random choices (default: random).")
    var seed: UInt64?

    @Option(name: .customLong("max-clients"), help: "Most client addresses served at once.")
    var maxClients: Int = 64

    @Option(
        name: .customLong("client-idle-s"),
        help: "A client silent this long gives its place up to a new one when --max-clients is reached.")
    var clientIdleSeconds: Double = 60

    @Option(name: .customLong("max-datagram"), help: "Largest datagram relayed in bytes.")
    var maxDatagram: Int = 2048

    @Option(name: .customLong("stats-interval"), help: "Print stats every N seconds (0: only on exit).")
    var statsInterval: Double = 0

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String = "info"

    @OptionGroup var logging: LogFormatOption

    func validate() throws {
        for (name, value) in [("--loss", loss), ("--reorder", reorder), ("--duplicate", duplicate)] {
            guard (0...1).contains(value) else { throw ValidationError("\(name) must be within 0...1") }
        }
        for (name, value) in [
            ("--delay-ms", delayMs), ("--jitter-ms", jitterMs), ("--reorder-delay-ms", reorderDelayMs),
        ] {
            guard value >= 0, value.isFinite else { throw ValidationError("\(name) must be >= 0") }
        }
        for (name, value) in [
            ("--rate-mbit", rateMbit), ("--up-rate-mbit", upRateMbit), ("--down-rate-mbit", downRateMbit),
        ] {
            if let value, !(value > 0 && value.isFinite) { throw ValidationError("\(name) must be > 0") }
        }
        if let queueKb, queueKb <= 0 { throw ValidationError("--queue-kb must be > 0") }
        guard clientIdleSeconds > 0, clientIdleSeconds.isFinite else {
            throw ValidationError("--client-idle-s must be > 0")
        }
        guard maxClients > 0 else { throw ValidationError("--max-clients must be > 0") }
        guard (64...65_535).contains(maxDatagram) else {
            throw ValidationError("--max-datagram must be within 64...65535")
        }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("unknown --log-level \(logLevel)") }
        _ = try Self.parseAddress(listen, option: "--listen")
        _ = try Self.parseAddress(upstream, option: "--upstream")
    }

    func conditions(rateMbit: Double?) -> LinkConditions {
        LinkConditions(
            delay: .seconds(fractional: delayMs / 1000),
            jitter: .seconds(fractional: jitterMs / 1000),
            lossRate: loss,
            reorderRate: reorder,
            reorderDelay: .seconds(fractional: reorderDelayMs / 1000),
            duplicateRate: duplicate,
            bandwidthBitsPerSecond: rateMbit.map { $0 * 1e6 },
            queueLimitBytes: queueKb.map { $0 * 1024 })
    }

    static func parseAddress(_ text: String, option: String) throws -> SocketAddress {
        let host: Substring
        let port: Substring
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { throw ValidationError("\(option): expected [v6]:port, got \(text)") }
            port = rest.dropFirst()
        } else {
            guard let colon = text.lastIndex(of: ":") else {
                throw ValidationError("\(option): expected host:port, got \(text)")
            }
            host = text[..<colon]
            port = text[text.index(after: colon)...]
        }
        guard let portNumber = UInt16(port) else { throw ValidationError("\(option): bad port in \(text)") }
        do {
            return try SocketAddress(ipAddress: String(host), port: Int(portNumber))
        } catch {
            throw ValidationError("\(option): \(host) is not an IP address")
        }
    }

    func run() async throws {
        let signals = await TerminationSignals()
        let level = Logger.Level(rawValue: logLevel) ?? .info
        logging.bootstrap(level: level)
        let logger = Logger(label: "t2u.impair")
        let seed = self.seed ?? SystemEntropy().nextUInt64()
        let up = conditions(rateMbit: upRateMbit ?? rateMbit)
        let down = conditions(rateMbit: downRateMbit ?? rateMbit)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let proxy = try await ImpairmentProxy.start(
            group: group,
            listen: try Self.parseAddress(listen, option: "--listen"),
            upstream: try Self.parseAddress(upstream, option: "--upstream"),
            upstreamToClient: down, clientToUpstream: up, seed: seed,
            maxClients: maxClients, maxDatagramSize: maxDatagram,
            clientIdleTimeout: .seconds(fractional: clientIdleSeconds), logger: logger)
        print("t2u-impair: \(Self.text(proxy.localAddress)) -> \(Self.text(proxy.upstreamAddress)), seed \(seed)")
        print("  client -> upstream: \(up)")
        print("  upstream -> client: \(down)")

        let reporter =
            statsInterval > 0
            ? Task { [statsInterval] in
                while !Task.isCancelled {
                    try await Task.sleep(nanoseconds: UInt64(statsInterval * 1e9))
                    print(try await proxy.stats)
                }
            } : nil

        await signals.wait()
        reporter?.cancel()
        let stats = try await proxy.stats
        try await proxy.stop()
        try await group.shutdownGracefully()
        print("t2u-impair stats (seed \(seed)):")
        print(stats)
    }

    static func text(_ address: SocketAddress) -> String {
        guard let ip = address.ipAddress, let port = address.port else { return "\(address)" }
        return address.protocol == .inet6 ? "[\(ip)]:\(port)" : "\(ip):\(port)"
    }
}

// In top-level code `Impair.main()` resolves to the synchronous overload (which refuses async
// commands); inside an async function the async one is chosen.
func entryPoint() async { await Impair.main() }
await entryPoint()
