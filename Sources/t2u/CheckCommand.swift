// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import ArgumentParser
import Foundation
import NIOCore
import NIOPosix
import T2UCheck
import T2UClient
import T2UNIO

struct Check: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Verify a device end to end: map an echo service, move seeded data through it, report path and timings.",
        discussion: """
            Maps REMOTE_PORT of the device to a local port, connects to it at once and sends --bytes of seeded random data; the device's service must echo it back (run `t2u check --echo` on the device, or any TCP echo service). Every byte is compared. Meanwhile the port status and path are polled every 5 ms and each change is printed on stderr.

            Prints ONE line on stdout:
              CHECK ok=1 path=lan|direct|relay peer=IP:PORT ttfb_ms=.. final_path_ms=.. connect_ms=.. bytes=.. mbps=.. breaks=.. statuses=.. paths=..
            Times count from the port mapping request: connect_ms until the link is up, ttfb_ms until the first echoed byte, final_path_ms until the last path change. mbps is the verified payload rate from the first echoed byte on. statuses and paths list every change as value@ms.

            SIGINT or SIGTERM ends the transfer early: what was sent is awaited and verified, then the CHECK line is printed as usual.

            --duration S keeps the transfer running for S seconds (for fault tests). With --reconnect, a connection that breaks is counted (breaks=) and a new one is made once the link is up again (for --bytes: the whole amount again); without it, a break fails the check.

            `t2u check --echo` runs the echo service instead (127.0.0.1, --echo-port or a free port; prints `echo listening PORT`) until Ctrl-C.

            The device's key is pinned on first contact in the known-devices file (--known-devices); a device that presents another key fails the check with "device key changed: ...". The password comes from --password, --password-file or T2U_PASSWORD (in that order); the server key from --key or T2U_SERVER_KEY.

            --json prints the same fields as one JSON object instead (numbers as numbers, absent ones as null, statuses and paths as [{value, ms}], error when failed).

            Exit status: 0 verified, 1 failed (the reason on stderr and in the CHECK line's error=), 2 server key rejected.

            Example: t2u check CAM-0001 7 --server t2u.example.com --bytes 10M
            """)

    @Argument(help: "Device UUID.")
    var uuid: String?
    @Argument(help: "TCP echo port on the device (or on the --to host).")
    var remotePort: Int?
    @Option(name: .long, help: "Host on the device's LAN to connect to; 127.0.0.1 is the device itself.")
    var to: String = "127.0.0.1"
    @OptionGroup var secret: PasswordOptions
    @OptionGroup var pins: KnownDevicesOptions
    @Option(name: .long, help: "Bytes to send and verify, e.g. 1048576, 10M, 1G (ignored with --duration).")
    var bytes: String = "1M"
    @Option(name: .long, help: "Seconds to keep transferring (0: send --bytes once).")
    var duration: Double = 0
    @Flag(name: .long, help: "Reconnect after a broken connection instead of failing.")
    var reconnect = false
    @Option(name: .long, help: "Seed of the data.")
    var seed: UInt64 = 1
    @Option(name: .long, help: "Seconds after which the check gives up.")
    var timeout: Double = 60
    @Option(
        name: .long,
        help:
            "Also wait until the path has stayed the same this many seconds after the transfer (to see a late upgrade)."
    )
    var settle: Double = 0
    @Option(
        name: .long,
        help:
            "After the transfer, wait up to this many seconds for a relayed link to move to a direct or LAN path (late traversal)."
    )
    var awaitDirect: Double = 0
    @Flag(name: .long, help: "Run a TCP echo service for checks instead.")
    var echo = false
    @Option(name: .long, help: "With --echo: port to listen on (0: any free port).")
    var echoPort: Int = 0
    @Option(name: .long, help: "With --echo: address to listen on.")
    var echoHost: String = "127.0.0.1"
    @Option(name: .long, help: "t2u-server IP address or host name.")
    var server: String?
    @Option(name: .long, help: "t2u-server main UDP port.")
    var port: Int = 7000
    @Option(
        name: .customLong("tcp-port"),
        help: "t2u-server TCP/TLS fallback port, tried only when UDP to the server goes unanswered (0: never).")
    var tcpPort: Int = 443
    @Option(
        name: .long,
        help:
            "svrkey: the server's public key, 64 hex digits (t2u-server --print-public-key); else the environment variable T2U_SERVER_KEY. Omitted: the server is not authenticated."
    )
    var key: String?
    @OptionGroup var paths: PathOptions
    @OptionGroup var output: JSONOutputOptions
    @OptionGroup var log: LogOptions

    func validate() throws {
        if echo {
            guard (0...65535).contains(echoPort) else { throw ValidationError("--echo-port must be 0...65535") }
            return
        }
        guard uuid != nil, let remotePort else { throw ValidationError("give UUID and REMOTE_PORT (or --echo)") }
        guard (1...65535).contains(remotePort) else { throw ValidationError("REMOTE_PORT must be 1...65535") }
        guard let server, !server.isEmpty else { throw ValidationError("--server is required") }
        guard (1...65535).contains(port) else { throw ValidationError("--port must be 1...65535") }
        guard (0...65535).contains(tcpPort) else {
            throw ValidationError("--tcp-port must be 0...65535 (0: no TCP fallback)")
        }
        guard parseAmount(bytes) != nil else {
            throw ValidationError("--bytes: a whole number with an optional K, M or G suffix")
        }
        guard duration >= 0 && duration <= 3600 else { throw ValidationError("--duration must be 0...3600 seconds") }
        guard timeout > 0 && timeout <= 7200 else { throw ValidationError("--timeout must be in (0, 7200] seconds") }
        guard settle >= 0 && settle < timeout else { throw ValidationError("--settle must be 0...timeout") }
        guard awaitDirect >= 0 && awaitDirect <= 600 else {
            throw ValidationError("--await-direct must be 0...600 seconds")
        }
    }

    func run() async throws {
        log.bootstrap()
        if echo { return try await runEcho() }
        guard let uuid, let remotePort, let server else { throw ExitCode(1) }
        let password = try secret.resolve()
        let signals = await TerminationSignals()
        let group = MultiThreadedEventLoopGroup.singleton
        var options = T2UClientOptions(server: server, serverPort: UInt16(port), serverKey: serverKey(flag: key))
        options.firstRetryDelay = .milliseconds(500)
        if tcpPort != 0 { options.serverStream = ServerStreamOptions(port: tcpPort) }
        options.knownDevices = pins.location
        paths.apply(to: &options)
        let client = try await startClient(options)
        let recorder = CheckRecorder(note: { printError($0) }, statusWords: { $0.words })
        let request = PortMappingRequest(uuid: uuid, remoteHost: to, remotePort: UInt16(remotePort), password: password)
        let localPort: UInt16
        do {
            localPort = try await client.addPort(request)
        } catch {
            await client.shutdown()
            recorder.fail("\(error)")
            printResult(recorder)
            printError("\(error)")
            throw ExitCode(1)
        }
        let poller = Task { await Self.poll(client: client, localPort: localPort, recorder: recorder) }
        // A changed device key will not heal by waiting: the check fails at once with its words.
        let keyWatcher = Task {
            for await event in client.events {
                guard case .deviceKeyChanged(let port, let change) = event, port == localPort else { continue }
                printError("check +\(recorder.elapsedMillis) ms: \(change)")
                recorder.observe(status: .deviceKeyChanged, path: nil)
                recorder.fail("\(change)")
                recorder.requestStop()
                // Closing the port ends the connection waiting for a link that will not come.
                await client.deletePort(localPort)
                return
            }
        }
        let stopper = Task {
            let number = await signals.wait()
            guard !Task.isCancelled else { return }
            printError("check +\(recorder.elapsedMillis) ms: signal \(number): finishing the transfer")
            recorder.requestStop()
        }
        let deadline = ContinuousClock.now + .milliseconds(Int(timeout * 1000))
        let plan = CheckPlan(total: duration > 0 ? nil : parseAmount(bytes) ?? 0, duration: duration, seed: seed)
        await transfer(
            plan: plan, localPort: localPort, client: client, recorder: recorder, group: group, deadline: deadline)
        if awaitDirect > 0 && recorder.failure == nil {
            await recorder.waitForDirectPath(until: ContinuousClock.now + .milliseconds(Int(awaitDirect * 1000)))
        }
        if settle > 0 && recorder.failure == nil {
            await recorder.waitForSettledPath(seconds: settle, deadline: deadline)
        }
        poller.cancel()
        stopper.cancel()
        keyWatcher.cancel()
        _ = await poller.value
        let keyRejected = await client.status() == .keyRejected
        // The link never came up because the server never answered: that is the reason to give.
        if recorder.failure != nil, let silence = await client.serverSilence() { recorder.explain("\(silence)") }
        await client.deletePort(localPort)
        await client.shutdown()
        printResult(recorder)
        if let failure = recorder.failure {
            printError("check failed: \(failure)")
            throw ExitCode(keyRejected ? 2 : 1)
        }
    }

    /// Connections until the plan is done: one for --bytes; for --duration as many as breaks
    /// allow (with --reconnect).
    private func transfer(
        plan: CheckPlan, localPort: UInt16, client: T2UClient, recorder: CheckRecorder,
        group: EventLoopGroup, deadline: ContinuousClock.Instant
    ) async {
        let end = plan.duration > 0 ? recorder.start + .milliseconds(Int(plan.duration * 1000)) : nil
        var connection = 0
        while ContinuousClock.now < deadline && !recorder.stopRequested {
            connection += 1
            let remaining = deadline - ContinuousClock.now
            let result = await EchoTransfer.run(
                port: Int(localPort), total: plan.total, until: end, seed: plan.seed &+ UInt64(connection - 1),
                timeout: remaining, group: group, recorder: recorder)
            recorder.addVerified(result.verified, seconds: result.seconds)
            guard let error = result.error else { return }
            if case .mismatch = error { return recorder.fail("\(error)") }
            recorder.noteBreak("\(error)")
            if case .timedOut = error { return recorder.fail("\(error)") }
            guard reconnect, end.map({ ContinuousClock.now < $0 }) ?? true, !recorder.stopRequested else {
                return recorder.fail("\(error)")
            }
            // Wait (bounded) for the link to come back before the next connection.
            while ContinuousClock.now < deadline, !recorder.stopRequested,
                await client.portStatus(localPort).0 != .connected
            {
                try? await Task.sleep(for: .milliseconds(20))
            }
        }
        if !recorder.stopRequested { recorder.fail("timed out after \(fixed(timeout, 1)) s") }
    }

    /// Status and path every 5 ms; changes go to the recorder (and stderr).
    private static func poll(client: T2UClient, localPort: UInt16, recorder: CheckRecorder) async {
        while !Task.isCancelled {
            let (status, path) = await client.portStatus(localPort)
            recorder.observe(status: status, path: path)
            try? await Task.sleep(for: .milliseconds(5))
        }
    }

    private func printResult(_ recorder: CheckRecorder) {
        if output.json { printJSON(recorder.json()) } else { print(recorder.line()) }
    }

    private func runEcho() async throws {
        let signals = await TerminationSignals()
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(TCPEchoHandler())
                }
            }
            .bind(host: echoHost, port: echoPort).get()
        print("echo listening \(channel.localAddress?.port ?? 0)")
        fflush(nil)
        _ = await signals.wait()
        try? await channel.close()
    }
}

struct CheckPlan {
    /// Bytes to send once (nil: for `duration` seconds).
    var total: UInt64?
    var duration: Double
    var seed: UInt64
}

/// "10M" -> 10485760.
func parseAmount(_ text: String) -> UInt64? {
    let units: [Character: UInt64] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30]
    var digits = Substring(text)
    var factor: UInt64 = 1
    if let last = digits.last?.uppercased().first, let unit = units[last] {
        factor = unit
        digits = digits.dropLast()
    }
    guard let value = UInt64(digits), value <= UInt64.max / factor else { return nil }
    return value * factor
}
