// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgresNIO
import Synchronization
import T2UClient
import T2UCore
import T2UNIO
import Testing

@testable import T2UServer

#if canImport(Glibc)
import Glibc
#endif

/// The test database: scripts/postgres-test-db.sh starts one (scripts/test.sh does as root or
/// under CI) and exports its URL. Without it these tests are skipped with the reason, except
/// when T2U_REQUIRE_DATABASE=1 (CI), where they run and fail.
enum TestDatabase {
    static var url: String? { nonEmpty("T2U_TEST_DATABASE_URL") }
    /// scripts/postgres-test-db.sh, for `pause`/`resume` (database restart tests).
    static var control: String? { nonEmpty("T2U_TEST_DATABASE_CTL") }
    static let enabled: Bool = {
        if url != nil || nonEmpty("T2U_REQUIRE_DATABASE") == "1" { return true }
        print(
            "PostgresCloudTests skipped: T2U_TEST_DATABASE_URL is not set (start one: scripts/postgres-test-db.sh start)"
        )
        return false
    }()

    static func requireURL() throws -> String {
        try #require(url, "T2U_TEST_DATABASE_URL must be set (scripts/postgres-test-db.sh start)")
    }

    private static func nonEmpty(_ name: String) -> String? {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else { return nil }
        return value
    }

    /// Runs the control script (`pause`, `resume`).
    static func control(_ command: String) throws {
        let script = try #require(control, "T2U_TEST_DATABASE_CTL must be set to scripts/postgres-test-db.sh")
        let child = try Child.spawn("/bin/bash", [script, command], output: nil)
        #expect(child.wait(seconds: 90) == 0, "postgres-test-db.sh \(command) failed")
    }

    /// One query straight to the database: (home_server, age in seconds) of a row.
    static func row(role: SignalingRole, uuid: String) async throws -> (home: String, age: Double)? {
        let logger = Logger(label: "test.db")
        let connection = try await PostgresConnection.connect(
            configuration: try PostgresURL(try requireURL()).configuration(), id: 1, logger: logger)
        defer { Task { try? await connection.close() } }
        let rows = try await connection.query(
            """
            SELECT home_server, extract(epoch FROM (now() - last_seen))::float8 FROM t2u_presence
            WHERE role = \(Int16(role.rawValue)) AND uuid = \(uuid)
            """, logger: logger
        ).decode((String, Double).self)
        for try await (home, age) in rows { return (home, age) }
        return nil
    }
}

/// Servers sharing the test database, each with its own ID; short keepalives and timeouts so
/// failures show within seconds.
func cloudServer(
    _ id: String, port: Int = 0, presenceTimeout: Nanos = .seconds(10), bindingsFile: String? = nil
) throws -> TestServer {
    var config = ServerConfig()
    config.serverID = id
    config.keepaliveSeconds = 1
    config.presenceTimeout = presenceTimeout
    var sync = PostgresSync.Options(url: try PostgresURL(try TestDatabase.requireURL()), clusterKey: testClusterKey)
    sync.resyncInterval = .seconds(2)
    return TestServer(config: config, database: sync, port: port, bindingsFile: bindingsFile)
}

/// The cluster key the test servers share (the peer messages and binding rows are MACed with it).
let testClusterKey = try! ClusterKey(secret: Array("t2u test cluster key, 32+ bytes long".utf8))

func cloudTag() -> String { String(UInt32.random(in: 0...UInt32.max), radix: 16) }

extension TestServer {
    /// This server's mirror entry of a device: its home server ID.
    func home(of uuid: String) async throws -> String? {
        try await runner.withRegistry { $0.lookup(role: .device, uuid: uuid)?.homeServerID }
    }
}

/// A client SDK with quick retries and a short transport idle timeout (a dead relay shows in
/// seconds); `servers` is the SDK's server string (a comma list is allowed).
func cloudClient(_ servers: String, relayed: Bool) async throws -> T2UClient {
    var options = T2UClientOptions(server: servers, serverPort: 7000)
    options.knownDevices = .memory
    options.firstRetryDelay = .milliseconds(200)
    options.retryInterval = .seconds(1)
    options.directDisabled = relayed
    options.transport.keepaliveInterval = .milliseconds(500)
    options.transport.idleTimeout = .seconds(4)
    return try await T2UClient(options: options)
}

@Suite(.serialized, .enabled(if: TestDatabase.enabled)) struct PostgresCloudTests {
    /// A device registered on B, a client on A: A finds it through the database, passes the
    /// CONNECT to B, and a TCP connection crosses byte-exact: directly, or relayed by A and B.
    @Test(arguments: [false, true])
    func clientOnOneServerReachesADeviceOnAnother(relayed: Bool) async throws {
        let tag = cloudTag()
        let a = try cloudServer("a-\(tag)")
        let b = try cloudServer("b-\(tag)")
        try await a.start()
        try await b.start()
        let uuid = "cam-\(tag)"
        let device = try TestDevice(uuid: uuid, server: b.address, extra: "on-b")
        try await device.start()
        let echo = EchoService()
        try await echo.start()
        try await waitUntil("A learns the device", seconds: 10) { try await a.home(of: uuid) == "b-\(tag)" }

        let client = try await cloudClient("127.0.0.1:\(a.port)", relayed: relayed)
        let info = try await client.query(uuid)
        #expect(info.online && info.extra == "on-b" && info.publicIP == "127.0.0.1", "\(info)")
        let port = try await client.addPort(PortMappingRequest(uuid: uuid, remotePort: echo.port))
        try await waitUntil("connected", seconds: 30) { await client.portStatus(port).0 == .connected }
        let (_, path) = await client.portStatus(port)
        #expect(path?.relayed == relayed)
        if relayed { #expect(path?.peerPort == Int(a.port), "the client relays through its own server") }
        let payload = pattern(200_000, seed: relayed ? 9 : 8)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        #expect(try await echoRoundTrip(port: port, payload: payload, group: group) == payload)

        // A direct path on loopback may be up before B has taken the introduction.
        try await waitUntil("B took the introduction", seconds: 5) {
            try await b.runner.counters().peerIntroductionsReceived >= 1
        }
        let countersA = try await a.runner.counters()
        let countersB = try await b.runner.counters()
        #expect(countersA.peerIntroductionsSent >= 1, "\(countersA)")
        if relayed {
            #expect(countersA.relayedPackets > 10 && countersB.relayedPackets > 10, "\(countersA) \(countersB)")
        }
        await client.shutdown()
        try await group.shutdownGracefully()
        await device.stop()
        await echo.stop()
        await a.stop()
        await b.stop()
    }

    /// The token a server hands out works there only: another server's mirror of the same
    /// record has none, and a device that registers elsewhere moves its row (home server).
    @Test func tokensStayOnTheirServerAndRegistrationsMove() async throws {
        let tag = cloudTag()
        let a = try cloudServer("a-\(tag)")
        let b = try cloudServer("b-\(tag)")
        try await a.start()
        try await b.start()
        let uuid = "dev-\(tag)"
        let device = try TestDevice(uuid: uuid, server: a.address)
        try await device.start()
        try await waitUntil("B learns the device", seconds: 10) { try await b.home(of: uuid) == "a-\(tag)" }
        let token = try await a.runner.withRegistry { $0.lookup(role: .device, uuid: uuid)?.token ?? 0 }
        #expect(token != 0)
        #expect(
            try await b.runner.withRegistry { $0.lookup(token: token) } == nil,
            "a token must not work on another server")
        #expect(try await b.runner.withRegistry { $0.lookup(role: .device, uuid: uuid)?.token } == 0)
        let row = try #require(try await TestDatabase.row(role: .device, uuid: uuid))
        #expect(row.home == "a-\(tag)")
        await device.stop()

        // The same device now registers on B: its row and both mirrors follow.
        let moved = try TestDevice(uuid: uuid, server: b.address)
        try await moved.start()
        try await waitUntil("A sees the move", seconds: 10) { try await a.home(of: uuid) == "b-\(tag)" }
        #expect(try await TestDatabase.row(role: .device, uuid: uuid)?.home == "b-\(tag)")
        #expect(try await a.runner.withRegistry { $0.lookup(token: token) } == nil, "the old token died with the move")

        // Silent past the presence timeout: expired in the database and in every mirror.
        await moved.stop()
        try await waitUntil("expired everywhere", seconds: 30) {
            let gone = try await TestDatabase.row(role: .device, uuid: uuid) == nil
            let homeA = try await a.home(of: uuid)
            let homeB = try await b.home(of: uuid)
            return gone && homeA == nil && homeB == nil
        }
        await a.stop()
        await b.stop()
    }

    /// Three servers; the device lists B then C, clients are on A (relayed) and on B (list B,C).
    /// B is stopped: the device re-registers on C, A's client reconnects through A and C, and
    /// B's client moves to C (a new port mapping works through it).
    @Test func aStoppedServersDevicesAndClientsMoveOn() async throws {
        let tag = cloudTag()
        let a = try cloudServer("a-\(tag)")
        let b = try cloudServer("b-\(tag)")
        let c = try cloudServer("c-\(tag)")
        for server in [a, b, c] { try await server.start() }
        let uuid = "cam-\(tag)"
        let device = try TestDevice(uuid: uuid, server: b.address, fallbacks: [c.address])
        try await device.start()
        let echo = EchoService()
        try await echo.start()
        try await waitUntil("A learns the device", seconds: 10) { try await a.home(of: uuid) == "b-\(tag)" }

        let onA = try await cloudClient("127.0.0.1:\(a.port)", relayed: true)
        let onB = try await cloudClient("127.0.0.1:\(b.port),127.0.0.1:\(c.port)", relayed: false)
        let portA = try await onA.addPort(PortMappingRequest(uuid: uuid, remotePort: echo.port))
        let portB = try await onB.addPort(PortMappingRequest(uuid: uuid, remotePort: echo.port))
        try await waitUntil("both connected", seconds: 30) {
            let statusA = await onA.portStatus(portA).0
            let statusB = await onB.portStatus(portB).0
            return statusA == .connected && statusB == .connected
        }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        #expect(
            try await echoRoundTrip(port: portA, payload: pattern(30_000, seed: 1), group: group)
                == pattern(30_000, seed: 1))

        let killedAt = ContinuousClock.now
        await b.stop()
        try await waitUntil("device homed on C", seconds: 40) { try await c.home(of: uuid) == "c-\(tag)" }
        let reRegistered = ContinuousClock.now - killedAt
        try await waitUntil("A's mirror follows", seconds: 10) { try await a.home(of: uuid) == "c-\(tag)" }
        // A's relayed link went through B: it breaks, and comes back through C.
        try await waitUntil("A's client reconnected", seconds: 60) {
            guard await onA.portStatus(portA).0 == .connected else { return false }
            return (try? await echoRoundTrip(port: portA, payload: pattern(20_000, seed: 2), group: group))
                == pattern(20_000, seed: 2)
        }
        let reconnected = ContinuousClock.now - killedAt
        // B's client registers with C, its next port is set up through C.
        let second = try await onB.addPort(PortMappingRequest(uuid: uuid, remotePort: echo.port))
        try await waitUntil("B's client on C", seconds: 40) { await onB.portStatus(second).0 == .connected }
        #expect(
            try await echoRoundTrip(port: second, payload: pattern(20_000, seed: 3), group: group)
                == pattern(20_000, seed: 3))
        print(
            "cloud failover: device re-registered on C \(reRegistered) after B stopped; A's client relayed again after \(reconnected)"
        )

        await onA.shutdown()
        await onB.shutdown()
        try await group.shutdownGracefully()
        await device.stop()
        await echo.stop()
        await a.stop()
        await c.stop()
    }

    /// The database stops and starts again: the servers serve from their mirrors meanwhile,
    /// queue what happens, reconnect, and every registration still alive is in the database
    /// again; new registrations work and reach the other server.
    @Test(
        .enabled(if: TestDatabase.control != nil || ProcessInfo.processInfo.environment["T2U_REQUIRE_DATABASE"] == "1"))
    func serversRecoverFromADatabaseRestart() async throws {
        let tag = cloudTag()
        let a = try cloudServer("a-\(tag)")
        let b = try cloudServer("b-\(tag)")
        try await a.start()
        try await b.start()
        let first = try TestDevice(uuid: "one-\(tag)", server: b.address)
        try await first.start()
        try await waitUntil("A learns the device", seconds: 10) { try await a.home(of: "one-\(tag)") == "b-\(tag)" }
        let client = try await cloudClient("127.0.0.1:\(a.port)", relayed: false)

        try TestDatabase.control("pause")
        let pausedAt = ContinuousClock.now
        let late = try cloudServer("late-\(tag)")
        var lateClient: T2UClient?
        do {
            try await waitUntil("servers notice", seconds: 20) {
                !a.runner.databaseConnected && !b.runner.databaseConnected
            }
            // A server started during the outage starts all the same and serves its clients.
            try await late.start()
            let onLate = try await cloudClient("127.0.0.1:\(late.port)", relayed: false)
            lateClient = onLate
            try await waitUntil("a client registers on the server started meanwhile", seconds: 10) {
                await onLate.status() == .connected
            }
            // Served from the mirror; a registration during the outage waits in B's queue.
            #expect(try await client.query("one-\(tag)").online)
            let second = try TestDevice(uuid: "two-\(tag)", server: b.address, seed: 8)
            try await second.start()
            // The outage goes on a while: the registration has to wait in B's queue meanwhile.
            try await Task.sleep(for: .seconds(3))
            try TestDatabase.control("resume")
            let resumedAt = ContinuousClock.now
            try await waitUntil("reconnected", seconds: 30) {
                a.runner.databaseConnected && b.runner.databaseConnected && late.runner.databaseConnected
            }
            try await waitUntil("live rows back in the database", seconds: 30) {
                guard let one = try await TestDatabase.row(role: .device, uuid: "one-\(tag)"),
                    let two = try await TestDatabase.row(role: .device, uuid: "two-\(tag)")
                else { return false }
                return one.home == "b-\(tag)" && two.home == "b-\(tag)" && one.age < 8 && two.age < 8
            }
            try await waitUntil("A learns the device registered meanwhile", seconds: 15) {
                try await a.home(of: "two-\(tag)") == "b-\(tag)"
            }
            print(
                "database restart: outage \(resumedAt - pausedAt), rows back \(ContinuousClock.now - resumedAt) after resume"
            )
            // New registrations after the restart reach the other server.
            let third = try TestDevice(uuid: "three-\(tag)", server: a.address, seed: 9)
            try await third.start()
            try await waitUntil("B learns a new device", seconds: 15) {
                try await b.home(of: "three-\(tag)") == "a-\(tag)"
            }
            #expect(try await client.query("two-\(tag)").online)
            // The late server set itself up when the database came back: it sees the others' devices.
            try await waitUntil("the late server's mirror", seconds: 15) {
                try await late.home(of: "two-\(tag)") == "b-\(tag)"
            }
            await second.stop()
            await third.stop()
        } catch {
            try? TestDatabase.control("resume")
            await lateClient?.shutdown()
            await late.stop()
            throw error
        }
        await lateClient?.shutdown()
        await late.stop()
        await client.shutdown()
        await first.stop()
        await a.stop()
        await b.stop()
    }

    /// The servers heartbeat each other: a server killed without a word loses its devices from
    /// the other servers' mirrors (and queries) within heartbeat + silence limit (1 s + 4 s),
    /// not at A's presence timeout (30 s here); a server that stops says goodbye, and its
    /// devices leave at A's next heartbeat.
    @Test func aDeadServersDevicesAreReportedOfflineWithinSeconds() async throws {
        let binary = try #require(
            ServerProcess.executable(), "t2u-server not built next to the tests (swift build --build-tests)")
        let tag = cloudTag()
        let a = try cloudServer("a-\(tag)", presenceTimeout: .seconds(30))
        let b = try cloudServer("b-\(tag)")
        try await a.start()
        try await b.start()
        let process = try ServerProcess.start(binary, id: "p-\(tag)")
        defer { process.terminate() }
        let processPort = try await process.mainPort()
        let onProcess = try TestDevice(uuid: "onp-\(tag)", server: NetAddress(ipv4: (127, 0, 0, 1), port: processPort))
        let onB = try TestDevice(uuid: "onb-\(tag)", server: b.address, seed: 8)
        try await onProcess.start()
        try await onB.start()
        let client = try await cloudClient("127.0.0.1:\(a.port)", relayed: false)
        try await waitUntil("A learns both devices", seconds: 15) {
            let onP = try await a.home(of: "onp-\(tag)")
            let onBHome = try await a.home(of: "onb-\(tag)")
            return onP == "p-\(tag)" && onBHome == "b-\(tag)"
        }
        #expect(try await client.query("onp-\(tag)").online)

        let killedAt = ContinuousClock.now
        process.kill()
        try await waitUntil("A drops the killed server's device", seconds: 12) {
            try await a.home(of: "onp-\(tag)") == nil
        }
        let killed = ContinuousClock.now - killedAt
        #expect(try await client.query("onp-\(tag)").online == false)

        let stoppedAt = ContinuousClock.now
        await b.stop()
        try await waitUntil("A drops the stopped server's device", seconds: 6) {
            try await a.home(of: "onb-\(tag)") == nil
        }
        let stopped = ContinuousClock.now - stoppedAt
        #expect(try await client.query("onb-\(tag)").online == false)
        print(
            "cloud heartbeats: a killed server's device offline on A after \(killed), a stopped server's after \(stopped)"
        )

        await client.shutdown()
        await onProcess.stop()
        await onB.stop()
        await a.stop()
    }

    /// Real `t2u-server` processes on one database: a device on P2 (then P1), a relayed client
    /// on P1. P2 is killed (SIGKILL): the device re-registers on P1 and the client reconnects.
    @Test func serverProcessesShareDevicesAndSurviveAKill() async throws {
        let binary = try #require(
            ServerProcess.executable(), "t2u-server not built next to the tests (swift build --build-tests)")
        let tag = cloudTag()
        let p1 = try ServerProcess.start(binary, id: "p1-\(tag)")
        defer { p1.terminate() }
        let p2 = try ServerProcess.start(binary, id: "p2-\(tag)")
        defer { p2.terminate() }
        let port1 = try await p1.mainPort()
        let port2 = try await p2.mainPort()
        let uuid = "proc-\(tag)"
        let device = try TestDevice(
            uuid: uuid, server: NetAddress(ipv4: (127, 0, 0, 1), port: port2),
            fallbacks: [NetAddress(ipv4: (127, 0, 0, 1), port: port1)])
        try await device.start()
        let echo = EchoService()
        try await echo.start()
        try await waitUntil("row homed on P2", seconds: 10) {
            try await TestDatabase.row(role: .device, uuid: uuid)?.home == "p2-\(tag)"
        }

        let client = try await cloudClient("127.0.0.1:\(port1)", relayed: true)
        let port = try await client.addPort(PortMappingRequest(uuid: uuid, remotePort: echo.port))
        do {
            try await waitUntil("connected through P1 and P2", seconds: 30) {
                await client.portStatus(port).0 == .connected
            }
        } catch {
            Issue.record("P1 log:\n\(p1.log())\nP2 log:\n\(p2.log())")
            throw error
        }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        #expect(
            try await echoRoundTrip(port: port, payload: pattern(100_000, seed: 4), group: group)
                == pattern(100_000, seed: 4))

        let killedAt = ContinuousClock.now
        p2.kill()
        try await waitUntil("device re-registered on P1", seconds: 40) {
            try await TestDatabase.row(role: .device, uuid: uuid)?.home == "p1-\(tag)"
        }
        let moved = ContinuousClock.now - killedAt
        try await waitUntil("client reconnected", seconds: 60) {
            guard await client.portStatus(port).0 == .connected else { return false }
            return (try? await echoRoundTrip(port: port, payload: pattern(20_000, seed: 5), group: group))
                == pattern(20_000, seed: 5)
        }
        print(
            "t2u-server processes: device on P1 \(moved) after SIGKILL of P2; client relayed again after \(ContinuousClock.now - killedAt)"
        )
        await client.shutdown()
        try await group.shutdownGracefully()
        await device.stop()
        await echo.stop()
        #expect(p1.stop() == 0, "t2u-server should exit 0 on SIGTERM; log:\n\(p1.log())")
        #expect(p2.stop() == 128 + SIGKILL)
    }
}

/// A child process by posix_spawn/waitpid (Foundation's Process can miss a child's exit when
/// waited on from a test's task).
struct Child {
    let pid: pid_t

    struct SpawnFailed: Error { let code: Int32 }

    /// `output`: file for stdout and stderr (nil: /dev/null); stdin is /dev/null.
    static func spawn(_ path: String, _ arguments: [String], output: String?) throws -> Child {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output ?? "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        // Nothing else of ours: NIO's sockets are not close-on-exec, and a postgres the control
        // script restarted kept a test server's UDP port bound after the test closed it.
        markDescriptorsCloseOnExec()
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let code = posix_spawn(&pid, path, &actions, nil, argv, environ)
        guard code == 0 else { throw SpawnFailed(code: code) }
        return Child(pid: pid)
    }

    /// Every descriptor above stdio gets FD_CLOEXEC (Glibc's module exposes no closefrom action).
    private static func markDescriptorsCloseOnExec() {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") else { return }
        for name in names {
            guard let fd = Int32(name), fd > 2 else { continue }
            let flags = fcntl(fd, F_GETFD)
            if flags >= 0 { _ = fcntl(fd, F_SETFD, flags | FD_CLOEXEC) }
        }
    }

    /// Exit status (128 + signal when killed); nil if still running after `seconds`.
    func wait(seconds: Double) -> Int32? {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while true {
            var status: Int32 = 0
            let result = waitpid(pid, &status, WNOHANG)
            if result == pid {
                let signal = status & 0x7f
                return signal == 0 ? (status >> 8) & 0xff : 128 + signal
            }
            if result < 0 || ContinuousClock.now >= deadline { return nil }
            usleep(20_000)
        }
    }

    func signal(_ number: Int32) { _ = Glibc.kill(pid, number) }
}

/// A `t2u-server` child process on 127.0.0.1 (OS-chosen ports) with the test database.
final class ServerProcess: Sendable {
    let child: Child
    let directory: URL
    /// The exit status once reaped; held while signalling and waiting so the child is reaped once.
    private let status = Mutex<Int32?>(nil)

    static func executable() -> URL? {
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
            .deletingLastPathComponent()
        for _ in 0..<5 {
            let candidate = directory.appendingPathComponent("t2u-server")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        return nil
    }

    static func start(_ binary: URL, id: String) throws -> ServerProcess {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("t2u-\(id)")
        try? FileManager.default.removeItem(at: directory)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let config = directory.appendingPathComponent("server.conf")
        try "keepalive = 1\npresence-timeout = 10\n".write(to: config, atomically: true, encoding: .utf8)
        // The cluster key every server of the database shares (required with --database), mode 0600.
        let clusterKey = directory.appendingPathComponent("cluster.key")
        try Data("t2u test cluster key, 32+ bytes long\n".utf8).write(to: clusterKey)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: clusterKey.path)
        let child = try Child.spawn(
            binary.path,
            [
                "--bind", "127.0.0.1", "--port", "0", "--observation-port", "0", "--server-id", id,
                "--database", try TestDatabase.requireURL(), "--config", config.path, "--log-level", "info",
                "--cluster-key-file", clusterKey.path,
            ], output: directory.appendingPathComponent("server.log").path)
        return ServerProcess(child: child, directory: directory)
    }

    private init(child: Child, directory: URL) {
        self.child = child
        self.directory = directory
    }

    func log() -> String {
        (try? String(contentsOf: directory.appendingPathComponent("server.log"), encoding: .utf8)) ?? ""
    }

    /// The main port from the "listening" log line, once the database sync is up too.
    func mainPort() async throws -> UInt16 {
        var port: UInt16?
        try await waitUntil("t2u-server started", seconds: 20) {
            let text = log()
            guard text.contains("sharing presence through PostgreSQL"),
                let line = text.split(separator: "\n").first(where: { $0.contains("t2u-server listening") }),
                let main = line.split(separator: " ").first(where: { $0.hasPrefix("main=") }),
                let colon = main.lastIndex(of: ":")
            else { return false }
            port = UInt16(main[main.index(after: colon)...].filter(\.isNumber))
            return true
        }
        return try #require(port, "t2u-server did not start; log:\n\(log())")
    }

    /// SIGKILL: no goodbye to the database or the agents.
    func kill() {
        status.withLock { status in
            guard status == nil else { return }
            child.signal(SIGKILL)
            status = child.wait(seconds: 10)
        }
    }

    /// SIGTERM and the exit status (SIGKILL after 15 s).
    func stop() -> Int32? {
        status.withLock { status in
            if let status { return status }
            child.signal(SIGTERM)
            status = child.wait(seconds: 15)
            if status == nil {
                child.signal(SIGKILL)
                status = child.wait(seconds: 5)
            }
            return status
        }
    }

    func terminate() {
        _ = stop()
        try? FileManager.default.removeItem(at: directory)
    }
}
