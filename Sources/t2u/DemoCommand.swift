// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import ArgumentParser
import Foundation
import Logging
import NIOCore
import NIOPosix
import T2UCheck
import T2UClient
import T2UCore
import T2UDevice
import T2UServer

struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run server, device and client on this machine and move data through a mapped port.",
        discussion: """
            Starts, all in this process and on 127.0.0.1 only: a t2u server on free ports, a device agent (what t2usvr runs) with a small TCP service that hashes what it receives, and a client (the SDK behind libt2u). The client maps the service's port to a local port, waits for the P2P link (printing its setup time), sends --bytes pseudo-random bytes through the local port and compares SHA-256 digests taken at both ends. Then it does the same through the server's relay, with a client that skips the direct path.

            Prints a summary (path, setup time, throughput, verification) and exits 0 only when every transfer was verified. Gives up with a message naming the stuck step after --timeout seconds.

            With --serve, after verified transfers the server and the device agent keep running (server on 127.0.0.1:7000 and a TCP echo service on the device's port 7080 when those ports are free, else free ports; device UUID "demo", no password) until Ctrl-C or SIGTERM. The demo prints the commands that build libt2u and Examples/c/flow.c and run it against them.

            Examples: swift run -c release t2u demo --bytes 1G
                      swift run -c release t2u demo --serve
            """)

    @Option(name: .long, help: "Bytes to send through each path; K, M and G suffixes are powers of 1024.")
    var bytes = ByteCount(256 << 20)
    @Option(name: .long, help: "Give up after this many seconds.")
    var timeout: Double = 60
    @Flag(name: .long, help: "Only the direct path; skip the relay transfer.")
    var noRelay = false
    @Flag(
        name: .long,
        help:
            "After the transfers, keep the server and the device running for your own clients (e.g. Examples/c/flow.c) until Ctrl-C."
    )
    var serve = false
    @Option(
        name: .long,
        help:
            "The server's UDP port (it also uses the next one); 0 picks a free port. (default: 0, with --serve 7000 if free)"
    )
    var serverPort: Int?
    @Flag(name: .long, help: .hidden)
    var plainTCP = false  // self-check of the traffic and hashing code, without t2u in between
    @OptionGroup var log: LogOptions

    func validate() throws {
        guard bytes.value > 0 else { throw ValidationError("--bytes must be > 0") }
        guard timeout > 0 else { throw ValidationError("--timeout must be > 0") }
        if let serverPort, !(0...65534).contains(serverPort) {
            throw ValidationError("--server-port must be 0...65534 (the server also binds the next port)")
        }
        if serve && plainTCP { throw ValidationError("--serve needs the t2u path") }
    }

    func run() async throws {
        log.bootstrap()
        let progress = DemoProgress()
        let timeout = self.timeout
        // The transfers are bounded: whatever hangs, the process ends with a clear message.
        let watchdog = Task.detached {
            do { try await Task.sleep(for: .milliseconds(Int(timeout * 1000))) } catch { return }  // cancelled: serving
            let phase = await progress.phase
            printError("demo failed: not done after \(fixed(timeout, timeout < 10 ? 1 : 0)) s, stuck \(phase)")
            Foundation.exit(1)
        }
        let results: [DemoPathResult]
        do {
            if plainTCP {
                results = [try await plainTCPTransfer(bytes: bytes.value)]
            } else {
                let port = serverPort ?? (serve ? DemoServe.preferredServerPort : 0)
                let run = DemoRun(
                    bytes: bytes.value, relay: !noRelay, progress: progress, serve: serve, serverPort: port,
                    serverPortFallback: serverPort == nil)
                results = try await run.run { results, endpoints in
                    watchdog.cancel()
                    printSummary(results)
                    guard !results.isEmpty, results.allSatisfy(\.verified) else { return }
                    await DemoServe.hold(endpoints)
                }
            }
        } catch {
            printError("demo failed: \(error)")
            throw ExitCode(1)
        }
        if !serve { printSummary(results) }
        guard !results.isEmpty, results.allSatisfy(\.verified) else { throw ExitCode(1) }
    }

    private func printSummary(_ results: [DemoPathResult]) {
        print("")
        print("summary (\(bytes.value) bytes per transfer, all on 127.0.0.1)")
        print("  " + pad("path", 8) + pad("setup", 10) + pad("throughput", 16) + pad("time", 10) + "result")
        for result in results {
            let setup = result.setupMillis.map { "\($0) ms" } ?? "?"
            let mbits = Double(result.bytes) * 8 / max(result.seconds, 1e-9) / 1e6
            print(
                "  " + pad(result.path, 8) + pad(setup, 10) + pad("\(fixed(mbits, 1)) Mbit/s", 16)
                    + pad("\(fixed(result.seconds, 2)) s", 10) + (result.verified ? "verified OK" : "MISMATCH"))
        }
        let verified = results.filter(\.verified).count
        if verified == results.count && !results.isEmpty {
            print("demo verified: \(verified) transfer(s) of \(bytes.value) bytes, SHA-256 equal at both ends")
        } else {
            print("demo FAILED: \(results.count - verified) of \(results.count) transfer(s) not verified")
        }
    }

    private func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
    }
}

/// The same traffic straight to the sink over loopback TCP: a baseline, and a check of the check.
private func plainTCPTransfer(bytes: UInt64) async throws -> DemoPathResult {
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
    let sink = try await DemoSink.start(group: group)
    var results = sink.results.makeAsyncIterator()
    let sent = try await sendThrough(port: sink.port, bytes: bytes, seed: 7, group: group)
    let received = await results.next()
    await sink.close()
    try? await group.shutdownGracefully()
    let verified =
        sent.sentDigest == sent.answeredDigest && received?.digest == sent.sentDigest && received?.bytes == bytes
    return DemoPathResult(path: "tcp", setupMillis: 0, bytes: sent.bytes, seconds: sent.seconds, verified: verified)
}

/// What the watchdog names when the demo takes too long.
actor DemoProgress {
    private(set) var phase = "starting"
    func set(_ phase: String) { self.phase = phase }
}

struct DemoPathResult: Sendable {
    /// "direct", "LAN" or "relay", as the SDK reports the path.
    var path: String
    var setupMillis: Int?
    var bytes: UInt64
    var seconds: Double
    var verified: Bool
}

struct DemoFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// The demo's steps. Prints progress lines as it goes.
struct DemoRun {
    let bytes: UInt64
    let relay: Bool
    let progress: DemoProgress
    /// Keep server and device for outside clients: fixed UUID, no password (flow.c sends none).
    let serve: Bool
    /// 0: any free port.
    let serverPort: Int
    /// When `serverPort` (a default, not the user's choice) is taken, use free ports instead.
    let serverPortFallback: Bool
    private var password: String? { serve ? nil : "demo-password" }

    init(
        bytes: UInt64, relay: Bool, progress: DemoProgress, serve: Bool = false, serverPort: Int = 0,
        serverPortFallback: Bool = false
    ) {
        self.bytes = bytes
        self.relay = relay
        self.progress = progress
        self.serve = serve
        self.serverPort = serverPort
        self.serverPortFallback = serverPortFallback
    }

    /// Runs the transfers; `whileServing` (with `serve`) runs after them, before anything stops.
    func run(whileServing: (([DemoPathResult], DemoEndpoints) async -> Void)? = nil) async throws -> [DemoPathResult] {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        var cleanups: [@Sendable () async -> Void] = [{ try? await group.shutdownGracefully() }]
        func cleanUp() async {
            for cleanup in cleanups.reversed() { await cleanup() }
            cleanups = []
        }
        do {
            await progress.set("starting the server")
            var config = ServerConfig()
            // The production per-session relay budget (100 Mbit/s) would measure the budget, not
            // the relay; this server is private to the demo.
            config.relayBytesPerSecond = 10e9
            config.relayBurstBytes = 64e6
            let (server, addresses) = try await startServer(config: config)
            cleanups.append { try? await server.shutdown() }
            guard let serverPort = addresses.main.port, let observationPort = addresses.observation.port else {
                throw DemoFailure("the server has no port")
            }
            say("server   127.0.0.1:\(serverPort) (UDP)")

            await progress.set("starting the device's TCP service")
            let sink = try await DemoSink.start(group: group)
            cleanups.append { await sink.close() }
            var sinkResults = sink.results.makeAsyncIterator()

            await progress.set("starting the device agent")
            let uuid = serve ? "demo" : "demo-\(String(UInt64.random(in: 0...UInt64.max), radix: 16))"
            // The agents pin the embedded server's public key, as deployments should.
            let serverKey = Hex.encode(config.identity.publicKey)
            var deviceOptions = DeviceAgentOptions(
                uuid: uuid, server: "127.0.0.1", serverPort: UInt16(serverPort), serverKey: serverKey)
            deviceOptions.password = password
            deviceOptions.extra = "t2u demo sink"
            deviceOptions.discoveryAddress = nil
            let device = try DeviceAgent(options: deviceOptions)
            try await device.start()
            cleanups.append { await device.shutdown() }
            await progress.set("waiting for the device to register with the server")
            while await !device.isRegistered() { try await Task.sleep(for: .milliseconds(20)) }
            say("device   \(uuid) registered, TCP service on 127.0.0.1:\(sink.port)")

            var results: [DemoPathResult] = []
            var plans: [(label: String, options: T2UClientOptions)] = []
            var base = T2UClientOptions(server: "127.0.0.1", serverPort: UInt16(serverPort), serverKey: serverKey)
            base.knownDevices = .memory  // the demo's device has a new key on every run
            plans.append(("auto", base))
            if relay {
                if let relayOnly = relayOnlyOptions(base) {
                    plans.append(("relay", relayOnly))
                } else {
                    say("relay    not tested: this SDK has no option to force the relay path")
                }
            }
            for (index, plan) in plans.enumerated() {
                let relayedBefore = try await server.counters().relayedBytes
                var result = try await transfer(
                    plan: plan.label, options: plan.options, uuid: uuid, remotePort: sink.port,
                    seed: UInt64(index + 1) &* 0x9E37_79B9_7F4A_7C15,
                    group: group)
                await progress.set("waiting for the device's digest")
                guard let received = await sinkResults.next() else {
                    throw DemoFailure("the device's TCP service stopped")
                }
                let receiverAgrees = received.bytes == bytes && received.digest == result.sentDigest
                result.summary.verified = result.summary.verified && receiverAgrees
                if plan.options.directDisabled {
                    // The contract, from the server's side: every byte crossed its relay (the
                    // relayed datagrams carry the stream plus headers, so at least `bytes`).
                    let relayed = try await server.counters().relayedBytes - relayedBefore
                    let allRelayed = relayed >= bytes
                    say(
                        "relay    the server relayed \(amount(Double(relayed))) for \(amount(Double(bytes))) sent: \(allRelayed ? "every byte went through the relay" : "BYTES BYPASSED THE RELAY")"
                    )
                    result.summary.verified = result.summary.verified && allRelayed
                }
                say(
                    "verify   sender \(Hex.encode(result.sentDigest).prefix(16))..., receiver \(Hex.encode(received.digest).prefix(16))... (\(received.bytes) bytes): \(result.summary.verified ? "verified" : "MISMATCH")"
                )
                results.append(result.summary)
            }
            if serve, let whileServing {
                await progress.set("starting the echo service")
                let echo = try await DemoEcho.start(group: group, preferredPort: DemoServe.preferredServicePort)
                cleanups.append { await echo.close() }
                let endpoints = DemoEndpoints(
                    serverPort: serverPort, observationPort: observationPort, uuid: uuid, servicePort: echo.port)
                await whileServing(results, endpoints)
            }
            await progress.set("shutting down")
            await cleanUp()
            return results
        } catch {
            await cleanUp()
            throw error
        }
    }

    /// The demo's server on `serverPort`; with `serve` and the default port taken, on free ports.
    private func startServer(
        config: ServerConfig
    ) async throws -> (ServerRunner, (main: SocketAddress, observation: SocketAddress)) {
        func attempt(_ port: Int) async throws -> (ServerRunner, (main: SocketAddress, observation: SocketAddress)) {
            var options = ServerRunner.Options()
            options.bindHost = "127.0.0.1"
            options.port = port
            let server = ServerRunner(config: config, options: options, logger: Logger(label: "t2u.demo.server"))
            do {
                return (server, try await server.start())
            } catch {
                try? await server.shutdown()
                throw error
            }
        }
        do {
            return try await attempt(serverPort)
        } catch let error where serverPortFallback && serverPort != 0 {
            say("server   127.0.0.1:\(serverPort) or \(serverPort + 1) is taken (\(error)); using free ports")
            return try await attempt(0)
        } catch  where serverPort != 0 {
            throw DemoFailure("cannot bind the server to 127.0.0.1:\(serverPort) and \(serverPort + 1) (UDP): \(error)")
        }
    }

    /// Client options that exclude the direct path (a contract the connection enforces).
    private func relayOnlyOptions(_ base: T2UClientOptions) -> T2UClientOptions? {
        var options = base
        options.directDisabled = true
        return options
    }

    private struct Transfer {
        var summary: DemoPathResult
        var sentDigest: [UInt8]
    }

    /// One client: register, map the sink's port, wait for the link, send, check the answer.
    private func transfer(
        plan: String, options: T2UClientOptions, uuid: String, remotePort: Int, seed: UInt64,
        group: MultiThreadedEventLoopGroup
    ) async throws -> Transfer {
        await progress.set("connecting the \(plan) client to the server")
        let client = try await T2UClient(options: options)
        do {
            let events = client.events
            let status = await waitForServer(client, seconds: 30)
            guard status == .connected else { throw DemoFailure("client \(plan): server \(status.words)") }
            await progress.set("querying the device")
            let info = try await client.query(uuid)
            guard info.online else { throw DemoFailure("the server says \(uuid) is offline") }
            say("client   \(plan): connected to the server; device online at \(info.publicIP), extra \"\(info.extra)\"")

            await progress.set("mapping the device's port (\(plan) client)")
            let localPort = try await client.addPort(
                PortMappingRequest(uuid: uuid, remotePort: UInt16(remotePort), password: password))
            await progress.set("waiting for the P2P link (\(plan) client, local port \(localPort))")
            let setupMillis = try await waitForLink(client: client, events: events, localPort: localPort)
            let (_, pathBefore) = await client.portStatus(localPort)
            say(
                "link     127.0.0.1:\(localPort) -> \(uuid):\(remotePort) up in \(setupMillis.map { "\($0) ms" } ?? "? ms"), path \(pathBefore?.words ?? "unknown")"
            )

            await progress.set(
                "sending \(bytes) bytes through 127.0.0.1:\(localPort) (\(pathBefore?.kind ?? "unknown path"))")
            let sent = try await sendThrough(port: Int(localPort), bytes: bytes, seed: seed, group: group)
            let (_, pathAfter) = await client.portStatus(localPort)
            let path = pathAfter ?? pathBefore
            let mbits = Double(sent.bytes) * 8 / max(sent.seconds, 1e-9) / 1e6
            say(
                "sent     \(amount(Double(sent.bytes))) in \(fixed(sent.seconds, 2)) s = \(fixed(mbits, 1)) Mbit/s via \(path?.words ?? "unknown path")\(path.map { ", rtt \(fixed($0.rttMillis, 2)) ms" } ?? "")"
            )

            await client.deletePort(localPort)
            await client.shutdown()
            let summary = DemoPathResult(
                path: path?.kind ?? "?", setupMillis: setupMillis, bytes: sent.bytes, seconds: sent.seconds,
                verified: sent.bytes == bytes && sent.sentDigest == sent.answeredDigest)
            return Transfer(summary: summary, sentDigest: sent.sentDigest)
        } catch {
            await client.shutdown()
            throw error
        }
    }

    private enum LinkWait: Sendable {
        case connected(setupMillis: Int)
        case statusOnly
        case failed(String)
        case ended
    }

    /// Waits for the `.connected` event of `localPort` (its setup time). Disconnect events are
    /// reported (the SDK retries); a rejected password ends the demo. If the port status says
    /// connected but no event comes within 2 s, goes on without a setup time.
    private func waitForLink(
        client: T2UClient, events: AsyncStream<T2UClientEvent>, localPort: UInt16
    ) async throws -> Int? {
        let outcome = await withTaskGroup(of: LinkWait.self) { group in
            group.addTask {
                for await event in events {
                    switch event {
                    case .connected(let port, let setupMillis) where port == localPort:
                        return .connected(setupMillis: setupMillis)
                    case .disconnected(let port, let code) where port == localPort:
                        if code == PortStatus.passwordRejected.rawValue { return .failed(disconnectWords(code)) }
                        say("link     down: \(disconnectWords(code))")
                    default:
                        break
                    }
                }
                return .ended
            }
            group.addTask {
                while !Task.isCancelled {
                    if await client.portStatus(localPort).0 == .connected {
                        try? await Task.sleep(for: .seconds(2))
                        return .statusOnly
                    }
                    try? await Task.sleep(for: .milliseconds(100))
                }
                return .ended
            }
            var outcome = LinkWait.ended
            while let next = await group.next() {
                if case .ended = next { continue }
                outcome = next
                break
            }
            group.cancelAll()
            return outcome
        }
        switch outcome {
        case .connected(let setupMillis): return setupMillis
        case .statusOnly:
            say("link     connected (no connect event from the SDK)")
            return nil
        case .failed(let why): throw DemoFailure(why)
        case .ended: throw DemoFailure("the SDK's event stream ended before the link came up")
        }
    }
}

private func say(_ line: String) {
    print(line)
    fflush(nil)
}
