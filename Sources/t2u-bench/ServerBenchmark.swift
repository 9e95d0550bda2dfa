// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import ArgumentParser
import Foundation
import NIOCore
import Synchronization
import T2UCommandLine
import T2UCore
import T2UNIO

#if canImport(Glibc)
import Glibc
#endif

/// Load benchmark of one `t2u-server` (child process, measured alone): N simulated devices
/// register (HELLO/CHALLENGE/REGISTER: cookies and Noise IK to the server key) and keep sealed keepalives at the
/// server's interval, then M clients query random registered devices for a bounded time.
struct ServerBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "server",
        abstract: "Devices held, RSS, CPU, queries/s and query latency of one t2u-server under load.",
        discussion: """
            Starts t2u-server as a child process on 127.0.0.1 (with --admin, read for devices held) and simulates the agents from this process. Each agent has its own source address in 127.0.0.0/8 (devices 127.1.x.y, clients 127.200.x.y), multiplexed over one socket per role with IP_PKTINFO, so the server keys them apart as it would real agents. Linux only. Ends with: RESULT server devices=... rss_mb=... qps=... p99_ms=...
            """)

    @Option(help: "Simulated devices (each registers and keeps alive).")
    var devices: Int = 100_000

    @Option(help: "Simulated clients sending QUERY.")
    var clients: Int = 64

    @Option(help: "Queries in flight per client.")
    var inFlight: Int = 1

    @Option(help: "Seconds of the query phase (devices keep alive meanwhile).")
    var duration: Double = 20

    @Option(help: "Registrations in flight at once.")
    var window: Int = 2048

    @Option(help: "Seconds allowed for all devices to register before the query phase starts anyway.")
    var registrationTimeout: Double = 120

    @Option(help: "The t2u-server executable. (default: next to t2u-bench)")
    var serverBinary: String?

    /// Passed to the t2u-server child, whose log lines share this process's stderr.
    @OptionGroup var logging: LogFormatOption

    @Option(
        help:
            "Per-source signaling rate given to the server (--signaling-rate): each client queries far above the default 20/s."
    )
    var signalingRate: Double = 1_000_000

    func validate() throws {
        guard (1...1_000_000).contains(devices) else { throw ValidationError("--devices must be 1...1000000") }
        guard (1...10_000).contains(clients) else { throw ValidationError("--clients must be 1...10000") }
        guard (1...255).contains(inFlight) else { throw ValidationError("--in-flight must be 1...255") }
        guard duration > 0, duration <= 3600 else { throw ValidationError("--duration must be 0...3600 seconds") }
        guard window >= 1, registrationTimeout > 0 else {
            throw ValidationError("--window and --registration-timeout must be positive")
        }
    }

    func run() throws {
        #if canImport(Glibc)
        try runLinux()
        #else
        throw ValidationError("t2u-bench server needs Linux (IP_PKTINFO, /proc)")
        #endif
    }
}

#if canImport(Glibc)
/// print, flushed: progress lines show up at once when stdout is a file or a pipe.
func say(_ line: String) {
    print(line)
    fflush(nil)
}

/// The device side runs on its own thread; the main thread drives the clients.
final class DeviceThreadState: Sendable {
    private struct Values {
        var stop = false
        var registered = 0
        var summary = ""
    }
    private let values = Mutex(Values())

    var stop: Bool {
        get { values.withLock { $0.stop } }
        set { values.withLock { $0.stop = newValue } }
    }

    var registered: Int {
        get { values.withLock { $0.registered } }
        set { values.withLock { $0.registered = newValue } }
    }

    var summary: String {
        get { values.withLock { $0.summary } }
        set { values.withLock { $0.summary = newValue } }
    }
}

extension ServerBenchmark {
    static let deviceBase: UInt32 = 0x7F01_0001  // 127.1.0.1
    static let clientBase: UInt32 = 0x7FC8_0001  // 127.200.0.1

    func runLinux() throws {
        say(
            "t2u-bench server: \(devices) devices, \(clients) clients x \(inFlight) queries in flight, \(duration) s of queries"
        )
        let launched = try LaunchedBenchServer.start(
            executable: serverBinary, logFormat: logging.format,
            extra: [
                "--signaling-rate", "\(Int(signalingRate))", "--signaling-burst", "\(Int(signalingRate))",
                "--max-tracked-sources", "\(devices + clients + 1000)",
            ])
        let server = launched.process
        let adminPort = launched.adminPort
        let target = launched.target
        say("server: \(launched.arguments.joined(separator: " "))")
        say("server pid: \(server.pid)")
        defer { server.stop() }
        let idleRSS = server.residentBytes() ?? 0

        let deviceSocket = try MultiplexedUDPSocket()
        let clientSocket = try MultiplexedUDPSocket()
        let fleetPrefix = "bench-device"
        let state = DeviceThreadState()

        // Devices: register, then keep alive until told to stop.
        let window = self.window
        let started = monotonicNanos()
        let deviceThread = Thread { [devices, deviceBase = Self.deviceBase] in
            // Made here: the fleet lives on this thread only.
            let fleet = AgentRegistrar(
                role: .device, count: devices, baseAddress: deviceBase, uuidPrefix: fleetPrefix, socket: deviceSocket,
                target: target)
            var lastPublished = 0
            while !state.stop {
                let now = monotonicNanos()
                fleet.tick(now: now, window: window, retransmit: 1_000_000_000)
                var received = 0
                while received < 4096,
                    deviceSocket.receive({ bytes, destination in
                        if let message = try? SignalingMessage.parse(ByteBuffer(bytes: bytes)) {
                            fleet.handle(message, destination: destination, now: now)
                        }
                    })
                { received += 1 }
                if fleet.registeredCount != lastPublished {
                    lastPublished = fleet.registeredCount
                    state.registered = lastPublished
                }
                if received == 0 { deviceSocket.wait(milliseconds: 1) }
            }
            state.summary =
                "keepalives sent \(fleet.keepalivesSent), acked \(fleet.keepaliveAcks); retransmissions \(fleet.retransmissions); errors \(fleet.errors)"
        }
        deviceThread.stackSize = 1 << 20
        deviceThread.start()
        defer { state.stop = true }

        let registrationDeadline = started + Int64(registrationTimeout * 1e9)
        var lastReport = started
        while state.registered < devices, monotonicNanos() < registrationDeadline {
            usleep(50_000)
            guard server.isRunning else { throw ValidationError("t2u-server exited during registration") }
            if monotonicNanos() - lastReport > 5_000_000_000 {
                lastReport = monotonicNanos()
                FileHandle.standardError.write(Data("  registered \(state.registered)/\(devices)\n".utf8))
            }
        }
        let registrationSeconds = Double(monotonicNanos() - started) / 1e9
        let registered = state.registered
        let registrationCPU = server.cpuSeconds() ?? 0

        // Clients: register, then query.
        let pool = AgentRegistrar(
            role: .client, count: clients, baseAddress: Self.clientBase, uuidPrefix: "bench-client",
            socket: clientSocket, target: target)
        let load = QueryLoad(
            clients: pool, deviceCount: registered > 0 ? devices : 1,
            deviceUUIDs: { AgentRegistrar.uuid(prefix: fleetPrefix, $0) },
            inFlight: inFlight, timeout: 1_000_000_000)
        func pump(now: Int64, handler: (SignalingMessage, UInt32) -> Void) {
            var received = 0
            while received < 4096,
                clientSocket.receive({ bytes, destination in
                    if let message = try? SignalingMessage.parse(ByteBuffer(bytes: bytes)) {
                        handler(message, destination)
                    }
                })
            { received += 1 }
            if received == 0 { clientSocket.wait(milliseconds: 1) }
        }
        let clientDeadline = monotonicNanos() + 30_000_000_000
        while !pool.allRegistered, monotonicNanos() < clientDeadline {
            let now = monotonicNanos()
            pool.tick(now: now, window: 256, retransmit: 1_000_000_000)
            pump(now: now) { pool.handle($0, destination: $1, now: now) }
        }
        guard pool.allRegistered else {
            throw ValidationError("only \(pool.registeredCount)/\(clients) clients registered")
        }

        func f(_ value: Double, _ digits: Int = 1) -> String { String(format: "%.\(digits)f", value) }
        say(
            "registration: \(registered)/\(devices) devices in \(f(registrationSeconds)) s (\(f(Double(registered) / registrationSeconds, 0))/s), server CPU \(f(registrationCPU, 2)) s"
        )
        say("querying for \(f(duration)) s")
        let cpuBefore = server.cpuSeconds() ?? 0
        let queryStart = monotonicNanos()
        let queryEnd = queryStart + Int64(duration * 1e9)
        load.start(now: queryStart)
        var lastTimeoutScan = queryStart
        while true {
            let now = monotonicNanos()
            if now >= queryEnd { break }
            if now - lastTimeoutScan > 100_000_000 {
                lastTimeoutScan = now
                load.tick(now: now)
                pool.tick(now: now, window: 256, retransmit: 1_000_000_000)  // clients keep alive too
            }
            var received = 0
            while received < 4096,
                clientSocket.receive({ bytes, destination in
                    if let message = try? SignalingMessage.parse(ByteBuffer(bytes: bytes)) {
                        load.handle(message, destination: destination, now: monotonicNanos())
                    }
                })
            { received += 1 }
            if received == 0 { clientSocket.wait(milliseconds: 1) }
        }
        let queryElapsed = Double(monotonicNanos() - queryStart) / 1e9
        let cpuQuery = (server.cpuSeconds() ?? 0) - cpuBefore
        let rss = server.residentBytes() ?? 0
        let status = benchServerStatus(adminPort: adminPort)
        state.stop = true
        while deviceThread.isExecuting { usleep(1000) }

        let held = status?["devices_online"] as? Int ?? -1
        let rejected =
            (status?["rejected"] as? [String: Any])?.compactMap { name, value -> String? in
                guard let count = value as? Int, count > 0 else { return nil }
                return "\(name)=\(count)"
            }.sorted().joined(separator: " ") ?? "?"
        let qps = Double(load.answered) / queryElapsed
        let p50 = load.latencies.percentile(50)
        let p99 = load.latencies.percentile(99)
        let rssMB = Double(rss) / 1_048_576
        let perDevice = held > 0 ? Double(rss - idleRSS) / Double(held) : 0

        say("devices: \(state.summary)")
        say(
            "queries: \(load.answered) answered (\(f(100 * Double(load.online) / Double(max(1, load.answered))))% online), \(load.lost) lost, \(load.errors) errors, in \(f(queryElapsed, 2)) s"
        )
        say("server rejected: \(rejected.isEmpty ? "none" : rejected)")
        say("")
        say("| metric | value |")
        say("|---|---|")
        say("| devices held (server /status) | \(held) |")
        say("| RSS idle | \(f(Double(idleRSS) / 1_048_576)) MB |")
        say("| RSS with devices | \(f(rssMB)) MB |")
        say("| RSS per device | \(f(perDevice, 0)) B |")
        say("| server CPU, query phase | \(f(cpuQuery, 2)) s (\(f(100 * cpuQuery / queryElapsed, 0))% of a core) |")
        say(
            "| server CPU per query (keepalives included) | \(f(1e6 * cpuQuery / Double(max(1, load.answered)), 1)) µs |"
        )
        say("| queries/s | \(f(qps, 0)) |")
        say("| query latency p50 / p99 | \(f(p50, 3)) / \(f(p99, 3)) ms |")
        say("")
        say(
            "RESULT server devices=\(held) rss_mb=\(f(rssMB)) rss_per_device_b=\(f(perDevice, 0)) cpu_s=\(f(cpuQuery, 2)) qps=\(f(qps, 0)) p50_ms=\(f(p50, 3)) p99_ms=\(f(p99, 3))"
        )
    }
}
#endif
