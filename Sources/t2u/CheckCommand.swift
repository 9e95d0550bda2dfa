// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import ArgumentParser
import Foundation
import NIOCore
import NIOPosix
import Synchronization
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
        let recorder = CheckRecorder()
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

/// What the check saw, shared by the poller, the transfer and the summary. Times in ms since
/// `start` (just before the port mapping request).
final class CheckRecorder: Sendable {
    private struct State {
        var statuses: [(Int32, Int)] = []
        var paths: [(String, Int)] = []
        var peer = ""
        /// Why the link was relayed, last seen (`PathInfo.relayReason`).
        var relayReason: String?
        var connectMillis: Int?
        var firstByteMillis: Int?
        var verified: UInt64 = 0
        var transferSeconds: Double = 0
        var breaks: [String] = []
        var failure: String?
        var lastPathChange = ContinuousClock.now
        var stopRequested = false
        var stopHook: (@Sendable () -> Void)?
    }
    let start = ContinuousClock.now
    private let state = Mutex(State())

    private func withLockedValue<T: Sendable>(_ body: (inout State) -> T) -> T {
        state.withLock { body(&$0) }
    }

    var elapsedMillis: Int { Self.millis(ContinuousClock.now - start) }

    static func millis(_ duration: Duration) -> Int {
        let parts = duration.components
        return Int(parts.seconds) * 1000 + Int(parts.attoseconds / 1_000_000_000_000_000)
    }

    func observe(status: PortStatus, path: PathInfo?) {
        let now = elapsedMillis
        var notes: [String] = []
        withLockedValue { state in
            if state.statuses.last?.0 != status.rawValue {
                state.statuses.append((status.rawValue, now))
                notes.append("status \(status.rawValue) (\(status.words))")
                if status == .connected && state.connectMillis == nil { state.connectMillis = now }
            }
            if status == .connected, let path {
                let kind = path.relayed ? "relay" : (path.lan ? "lan" : "direct")
                if state.paths.last?.0 != kind {
                    state.paths.append((kind, now))
                    state.lastPathChange = ContinuousClock.now
                    notes.append("path \(kind) \(path.peerIP):\(path.peerPort)")
                }
                state.peer =
                    path.peerIP.contains(":") ? "[\(path.peerIP)]:\(path.peerPort)" : "\(path.peerIP):\(path.peerPort)"
                if let reason = path.relayReason, reason != state.relayReason {
                    state.relayReason = reason
                    notes.append("relayed: \(reason)")
                }
            }
        }
        for note in notes { printError("check +\(now) ms: \(note)") }
    }

    func firstByte() {
        let now = elapsedMillis
        withLockedValue { if $0.firstByteMillis == nil { $0.firstByteMillis = now } }
    }

    func addVerified(_ bytes: UInt64, seconds: Double) {
        withLockedValue {
            $0.verified += bytes
            $0.transferSeconds += seconds
        }
    }

    func noteBreak(_ why: String) {
        let now = elapsedMillis
        withLockedValue { $0.breaks.append(why) }
        printError("check +\(now) ms: connection broke: \(why)")
    }

    func fail(_ why: String) {
        withLockedValue { if $0.failure == nil { $0.failure = why } }
    }

    var failure: String? { withLockedValue { $0.failure } }

    /// Replaces the failure with its cause, once that is known (a server that never answered).
    func explain(_ why: String) {
        withLockedValue { $0.failure = why }
    }

    var stopRequested: Bool { withLockedValue { $0.stopRequested } }

    /// Ends the transfer early (signal): the current connection stops sending and finishes.
    func requestStop() {
        let hook = withLockedValue { state -> (@Sendable () -> Void)? in
            state.stopRequested = true
            return state.stopHook
        }
        hook?()
    }

    /// What `requestStop` pokes: the current connection's handler, on its event loop.
    func setStopHook(_ hook: (@Sendable () -> Void)?) {
        withLockedValue { $0.stopHook = hook }
    }

    /// Returns once the path is not the relay (or at `until`).
    func waitForDirectPath(until: ContinuousClock.Instant) async {
        while ContinuousClock.now < until, withLockedValue({ $0.paths.last?.0 ?? "relay" }) == "relay" {
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Returns once the path has not changed for `seconds` (or at the deadline).
    func waitForSettledPath(seconds: Double, deadline: ContinuousClock.Instant) async {
        while ContinuousClock.now < deadline {
            let quiet = ContinuousClock.now - withLockedValue { $0.lastPathChange }
            if quiet >= .milliseconds(Int(seconds * 1000)) { return }
            try? await Task.sleep(for: .milliseconds(50))
        }
    }

    func line() -> String {
        withLockedValue { state in
            let ok = state.failure == nil && state.verified > 0
            let mbps = state.transferSeconds > 0 ? Double(state.verified) * 8 / state.transferSeconds / 1e6 : 0
            var fields = [
                "CHECK ok=\(ok ? 1 : 0)",
                "path=\(state.paths.last?.0 ?? "none")",
                "peer=\(state.peer.isEmpty ? "-" : state.peer)",
                "ttfb_ms=\(state.firstByteMillis.map(String.init) ?? "-")",
                "final_path_ms=\(state.paths.last.map { String($0.1) } ?? "-")",
                "connect_ms=\(state.connectMillis.map(String.init) ?? "-")",
                "bytes=\(state.verified)",
                "mbps=\(fixed(mbps, 1))",
                "breaks=\(state.breaks.count)",
                "statuses=\(state.statuses.map { "\($0.0)@\($0.1)" }.joined(separator: ","))",
                "paths=\(state.paths.map { "\($0.0)@\($0.1)" }.joined(separator: ","))",
            ]
            if let failure = state.failure {
                fields.append("error=\"\(failure.replacingOccurrences(of: "\"", with: "'"))\"")
            }
            return fields.joined(separator: " ")
        }
    }

    /// The CHECK line's fields as one JSON object (`--json`).
    func json() -> [String: Any] {
        let state = withLockedValue { $0 }
        let mbps = state.transferSeconds > 0 ? Double(state.verified) * 8 / state.transferSeconds / 1e6 : 0
        let none: Any = NSNull()
        var object: [String: Any] = [
            "ok": state.failure == nil && state.verified > 0,
            "path": state.paths.last?.0 ?? "none",
            "peer": state.peer.isEmpty ? none : state.peer,
            "ttfb_ms": state.firstByteMillis ?? none,
            "final_path_ms": state.paths.last?.1 ?? none,
            "connect_ms": state.connectMillis ?? none,
            "bytes": state.verified,
            "mbps": (mbps * 10).rounded() / 10,
            "breaks": state.breaks.count,
            "statuses": state.statuses.map { ["value": Int($0.0), "ms": $0.1] },
            "paths": state.paths.map { ["value": $0.0, "ms": $0.1] as [String: Any] },
        ]
        if let failure = state.failure { object["error"] = failure }
        if state.paths.last?.0 == "relay", let reason = state.relayReason { object["relay_reason"] = reason }
        return object
    }
}

enum EchoTransferError: Error, CustomStringConvertible {
    case mismatch(offset: UInt64)
    case closedEarly(sent: UInt64, verified: UInt64)
    case connectFailed(String)
    case timedOut(verified: UInt64)

    var description: String {
        switch self {
        case .mismatch(let offset): return "echoed data differs from what was sent at byte \(offset)"
        case .closedEarly(let sent, let verified):
            return "connection closed after \(sent) bytes sent, \(verified) verified"
        case .connectFailed(let why): return "cannot connect to the mapped port: \(why)"
        case .timedOut(let verified): return "timed out with \(verified) bytes verified"
        }
    }
}

/// One TCP connection to the mapped port: sends seeded bytes, compares every echoed byte.
enum EchoTransfer {
    struct Result: Sendable {
        var verified: UInt64
        var seconds: Double
        var error: EchoTransferError?
    }

    static func run(
        port: Int, total: UInt64?, until: ContinuousClock.Instant?, seed: UInt64, timeout: Duration,
        group: EventLoopGroup, recorder: CheckRecorder
    ) async -> Result {
        let loop = group.next()
        let promise = loop.makePromise(of: Result.self)
        let channel: Channel
        let handler: NIOLoopBound<EchoCheckHandler>
        do {
            channel = try await ClientBootstrap(group: loop)
                .channelOption(.tcpOption(.tcp_nodelay), value: 1)
                .channelOption(.writeBufferWaterMark, value: .init(low: 256 * 1024, high: 1024 * 1024))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(
                            EchoCheckHandler(
                                total: total, until: until, seed: seed, recorder: recorder, promise: promise))
                    }
                }
                .connect(host: "127.0.0.1", port: port).get()
            handler = try await loop.submit {
                NIOLoopBound(try channel.pipeline.syncOperations.handler(type: EchoCheckHandler.self), eventLoop: loop)
            }.get()
        } catch {
            return Result(verified: 0, seconds: 0, error: .connectFailed("\(error)"))
        }
        let timer = loop.scheduleTask(in: .nanoseconds(Int64(nanoseconds(timeout)))) {
            handler.value.timeOut()
        }
        recorder.setStopHook { loop.execute { handler.value.stop() } }
        if recorder.stopRequested { loop.execute { handler.value.stop() } }
        let result =
            (try? await promise.futureResult.get())
            ?? Result(verified: 0, seconds: 0, error: .closedEarly(sent: 0, verified: 0))
        timer.cancel()
        recorder.setStopHook(nil)
        try? await channel.close()
        return result
    }

    private static func nanoseconds(_ duration: Duration) -> Int64 {
        let parts = duration.components
        return max(0, parts.seconds) * 1_000_000_000 + parts.attoseconds / 1_000_000_000
    }
}

/// xorshift64 bytes, produced in any slice sizes: the sender and the verifier each run one.
struct PatternStream {
    private var state: UInt64
    private var word: UInt64 = 0
    private var left = 0

    init(seed: UInt64) { state = seed | 1 }

    mutating func fill(_ buffer: UnsafeMutableRawBufferPointer) {
        for index in buffer.indices {
            if left == 0 {
                state ^= state << 13
                state ^= state >> 7
                state ^= state << 17
                word = state
                left = 8
            }
            buffer[index] = UInt8(truncatingIfNeeded: word)
            word >>= 8
            left -= 1
        }
    }
}

/// Keeps at most `window` bytes unverified in flight; finishes when everything sent is back.
private final class EchoCheckHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private static let chunkSize = 64 * 1024
    private static let window: UInt64 = 4 * 1024 * 1024
    private let total: UInt64?
    private let until: ContinuousClock.Instant?
    private let recorder: CheckRecorder
    private let promise: EventLoopPromise<EchoTransfer.Result>
    private var writer: PatternStream
    private var verifier: PatternStream
    private var expected: [UInt8] = []
    private var sent: UInt64 = 0
    private var verified: UInt64 = 0
    /// When the first echoed byte came back: the rate counts from there (not from the wait
    /// for the link).
    private var firstByteAt: ContinuousClock.Instant?
    private var done = false
    private var context: ChannelHandlerContext?
    private var stopTimer: Scheduled<Void>?

    init(
        total: UInt64?, until: ContinuousClock.Instant?, seed: UInt64, recorder: CheckRecorder,
        promise: EventLoopPromise<EchoTransfer.Result>
    ) {
        self.total = total
        self.until = until
        self.recorder = recorder
        self.promise = promise
        self.writer = PatternStream(seed: seed)
        self.verifier = PatternStream(seed: seed)
    }

    private var stopped = false

    private var writing: Bool {
        if stopped { return false }
        if let total { return sent < total }
        if let until { return ContinuousClock.now < until }
        return false
    }

    private var seconds: Double {
        guard let firstByteAt else { return 0 }
        return Double(CheckRecorder.millis(ContinuousClock.now - firstByteAt)) / 1000
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func channelActive(context: ChannelHandlerContext) {
        if let until {
            let nanos = CheckRecorder.millis(until - ContinuousClock.now) * 1_000_000
            stopTimer = context.eventLoop.assumeIsolated().scheduleTask(in: .nanoseconds(Int64(max(0, nanos)))) {
                [self] in
                self.finishIfDone()
            }
        }
        pump(context: context)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) { pump(context: context) }

    private func pump(context: ChannelHandlerContext) {
        while writing && sent - verified < Self.window && context.channel.isWritable {
            var size = Self.chunkSize
            if let total { size = Int(min(UInt64(size), total - sent)) }
            var chunk = context.channel.allocator.buffer(capacity: size)
            chunk.writeWithUnsafeMutableBytes(minimumWritableBytes: size) { raw in
                writer.fill(UnsafeMutableRawBufferPointer(rebasing: raw[0..<size]))
                return size
            }
            sent += UInt64(size)
            context.write(wrapOutboundOut(chunk), promise: nil)
        }
        context.flush()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !done else { return }
        let buffer = unwrapInboundIn(data)
        let count = buffer.readableBytes
        guard count > 0 else { return }
        if firstByteAt == nil {
            firstByteAt = ContinuousClock.now
            recorder.firstByte()
        }
        if expected.count < count { expected = [UInt8](repeating: 0, count: count) }
        let matches = expected.withUnsafeMutableBytes { scratch -> Int? in
            let slice = UnsafeMutableRawBufferPointer(rebasing: scratch[0..<count])
            verifier.fill(slice)
            return buffer.withUnsafeReadableBytes { got -> Int? in
                if let a = got.baseAddress, let b = slice.baseAddress, memcmp(a, b, count) == 0 { return nil }
                for index in 0..<count where got[index] != slice[index] { return index }
                return nil
            }
        }
        if let index = matches {
            return finish(.mismatch(offset: verified + UInt64(index)), context: context)
        }
        verified += UInt64(count)
        if verified > sent { return finish(.mismatch(offset: sent), context: context) }
        finishIfDone()
        if !done { pump(context: context) }
    }

    private func finishIfDone() {
        guard let context, !done, !writing, verified == sent else { return }
        finish(nil, context: context)
    }

    /// Stop sending; finish once everything sent is verified.
    func stop() {
        stopped = true
        finishIfDone()
    }

    func timeOut() {
        guard let context, !done else { return }
        finish(.timedOut(verified: verified), context: context)
    }

    private func finish(_ error: EchoTransferError?, context: ChannelHandlerContext) {
        guard !done else { return }
        done = true
        stopTimer?.cancel()
        promise.succeed(EchoTransfer.Result(verified: verified, seconds: seconds, error: error))
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish(.closedEarly(sent: sent, verified: verified), context: context)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        finish(.closedEarly(sent: sent, verified: verified), context: context)
    }
}
