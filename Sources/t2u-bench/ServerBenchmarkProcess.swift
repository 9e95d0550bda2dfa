// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

#if canImport(Glibc)
import ArgumentParser
import Foundation
import Glibc
import Synchronization
import T2UCore
import T2UNIO

/// The child's PID for the signal handler: Ctrl-C or SIGTERM of the bench ends the server too.
/// Atomic: a lock-free load is safe inside a signal handler, a lock would not be.
private let benchChildPID = Atomic<pid_t>(0)

/// The `t2u-server` child process under test, measured alone through /proc.
final class BenchServerProcess {
    let process = Process()
    let pid: Int32

    init(executable: String, arguments: [String]) throws {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        pid = process.processIdentifier
        benchChildPID.store(pid, ordering: .releasing)
        for sig in [SIGINT, SIGTERM] {
            signal(sig) { received in
                let child = benchChildPID.load(ordering: .acquiring)
                if child > 0 { kill(child, SIGTERM) }
                _exit(128 + received)
            }
        }
    }

    var isRunning: Bool { process.isRunning }

    /// SIGTERM, then SIGKILL if it has not exited within 5 s.
    func stop() {
        guard process.isRunning else { return }
        kill(pid, SIGTERM)
        let deadline = monotonicNanos() + 5_000_000_000
        while process.isRunning, monotonicNanos() < deadline { usleep(20_000) }
        if process.isRunning { kill(pid, SIGKILL) }
        process.waitUntilExit()
        benchChildPID.store(0, ordering: .releasing)
    }

    /// Resident set size in bytes (VmRSS of /proc/PID/status).
    func residentBytes() -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 2, let kb = Int(fields[1]) else { return nil }
            return kb * 1024
        }
        return nil
    }

    /// User + system CPU seconds (/proc/PID/stat fields 14 and 15).
    func cpuSeconds() -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = text.lastIndex(of: ")")
        else { return nil }
        // Fields after the command name start at field 3 (state).
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}

/// A `t2u-server` child on 127.0.0.1 with its admin port, started and answering, and what the
/// simulated agents need to reach it (its key is made here and pinned by them).
struct LaunchedBenchServer {
    let process: BenchServerProcess
    let port: UInt16
    let adminPort: UInt16
    let target: BenchServerTarget
    let arguments: [String]

    /// `executable` nil: the t2u-server next to t2u-bench. `logFormat`: the server's
    /// --log-format (its log lines go to this process's stderr). `extra`: more server arguments.
    static func start(executable: String?, logFormat: LogFormat = .text, extra: [String]) throws -> LaunchedBenchServer
    {
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max
            setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        }
        let executable = executable ?? defaultServerExecutable()
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw ValidationError(
                "no t2u-server at \(executable): build it (swift build -c release) or pass --server-binary")
        }
        guard let port = freeUDPPortPair(), let adminPort = freeTCPPort() else {
            throw ValidationError("no free loopback ports")
        }
        // The agents pin the server's key: a key file made here, handed to the server.
        let keyPath = NSTemporaryDirectory() + "t2u-bench-server-\(getpid()).key"
        let identity = try KeyFile.loadOrCreate(path: keyPath, what: "bench server key file", entropy: SystemEntropy())
        defer { unlink(keyPath) }
        let arguments =
            [
                "--bind", "127.0.0.1", "--port", "\(port)", "--admin", "127.0.0.1:\(adminPort)", "--log-level",
                "warning",
                "--log-format", logFormat.rawValue, "--key-file", keyPath,
            ] + extra
        let process = try BenchServerProcess(executable: executable, arguments: arguments)
        var ready = false
        for _ in 0..<150 where !ready {
            if benchServerStatus(adminPort: adminPort) != nil { ready = true } else { usleep(100_000) }
            guard process.isRunning else {
                throw ValidationError("t2u-server exited at start; run it by hand to see why")
            }
        }
        guard ready else {
            process.stop()
            throw ValidationError("t2u-server did not answer on its admin port within 15 s")
        }
        let target = BenchServerTarget(
            address: loopbackSockaddr(port: port), netAddress: NetAddress(ipv4: (127, 0, 0, 1), port: port),
            publicKey: identity.publicKey)
        return LaunchedBenchServer(
            process: process, port: port, adminPort: adminPort, target: target,
            arguments: [executable] + arguments)
    }
}

/// A blocking HTTP/1.1 GET on 127.0.0.1 (the server's admin endpoint): the body, or nil.
func benchHTTPGet(port: UInt16, path: String, timeoutSeconds: Int = 5) -> String? {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    var address = loopbackSockaddr(port: port)
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
    }
    guard connected == 0 else { return nil }
    let request = Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".utf8)
    guard request.withUnsafeBytes({ Glibc.send(fd, $0.baseAddress, $0.count, 0) }) == request.count else { return nil }
    var response: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while response.count < 16 << 20 {
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n <= 0 { break }
        response += chunk[0..<n]
    }
    let text = String(decoding: response, as: UTF8.self)
    guard text.hasPrefix("HTTP/1.1 200"), let split = text.range(of: "\r\n\r\n") else { return nil }
    return String(text[split.upperBound...])
}

/// `GET /status` parsed.
func benchServerStatus(adminPort: UInt16) -> [String: Any]? {
    guard let body = benchHTTPGet(port: adminPort, path: "/status") else { return nil }
    return (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any]
}

/// The t2u-server next to this executable (same build folder).
func defaultServerExecutable() -> String {
    let me = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    return URL(fileURLWithPath: me).deletingLastPathComponent().appendingPathComponent("t2u-server").path
}

/// A UDP port that was free a moment ago (and the next one, for the observation port).
func freeUDPPortPair() -> UInt16? {
    for _ in 0..<20 {
        let first = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        var address = loopbackSockaddr(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { p -> Int32 in
                bind(first, p, length)
                return getsockname(first, p, &length)
            }
        }
        let port = UInt16(bigEndian: address.sin_port)
        close(first)
        guard port < 65000 else { continue }
        let second = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        var next = loopbackSockaddr(port: port + 1)
        let ok = withUnsafePointer(to: &next) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(second, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        close(second)
        if ok == 0 { return port }
    }
    return nil
}

/// A TCP port that was free a moment ago (admin endpoint).
func freeTCPPort() -> UInt16? {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = loopbackSockaddr(port: 0)
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let ok = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { p -> Int32 in
            guard bind(fd, p, length) == 0 else { return -1 }
            return getsockname(fd, p, &length)
        }
    }
    return ok == 0 ? UInt16(bigEndian: address.sin_port) : nil
}
#endif
