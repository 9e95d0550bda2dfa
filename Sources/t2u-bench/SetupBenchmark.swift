// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import ArgumentParser
import Foundation
import Logging
import T2UClient
import T2UCommandLine
import T2UNIO

#if canImport(Glibc)
import Glibc
#endif

/// Issue 10's setup time: `add_port` -> first byte through the port, to an echo service on a
/// device, with a fresh client each start: "warm" (the client already connected to its server
/// when add_port is called) and "cold" (timed from creating the client, as from t2u_init),
/// beside TCP connect + one request to the same service straight over the same path.
/// Benchmarks/lab-bench.sh --setup runs it over the delay lab at several RTTs.
struct SetupBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "setup",
        abstract: "First-byte time through a fresh port mapping (warm and cold client) vs TCP connect + request.",
        discussion: """
            Each start: a new client; 1 byte written to the mapped local port; time until the echoed byte \
            returns. A start with no echoed byte within --timeout counts as failed. Ends with: \
            RESULT setup rtt_ms=... t2u_first_byte_ms=... t2u_rtts=... tcp_first_byte_ms=... cold_init_ms=...
            """)

    @Option(help: "t2u-server address.") var server: String
    @Option(help: "t2u-server UDP port.") var port: Int = 7000
    @Option(help: "Device UUID.") var device: String
    @Option(help: "Echo port on the device (t2u check --echo).") var remotePort: Int
    @Option(help: "HOST:PORT of the same echo service reached over plain TCP (the baseline).") var tcp: String
    @Option(help: "Starts of each kind.") var starts: Int = 20
    @Option(help: "The path's round-trip time, to print times as multiples of it (0: not printed).") var rttMs: Double =
        0
    @Option(help: "Seconds a start may take before it counts as no first byte.") var timeout: Double = 10
    @Option(help: "Known-devices file (the device key is pinned on first contact).") var knownDevices: String?
    @Option(
        help:
            "The server's public key (64 hex digits, t2u-server --print-public-key), pinned as deployments should: a client that pins it registers without HELLO."
    )
    var serverKey: String?
    @OptionGroup var logging: LogFormatOption

    func validate() throws {
        guard (1...1000).contains(starts) else { throw ValidationError("--starts must be 1...1000") }
        guard (1...65535).contains(port), (1...65535).contains(remotePort) else {
            throw ValidationError("ports must be 1...65535")
        }
        guard timeout > 0, timeout <= 120 else { throw ValidationError("--timeout must be 0...120 seconds") }
        guard tcpTarget != nil else { throw ValidationError("--tcp must be IPv4:PORT, e.g. 192.0.2.10:7007") }
    }

    private var tcpTarget: (String, UInt16)? {
        let parts = tcp.split(separator: ":")
        guard parts.count == 2, let p = UInt16(parts[1]), p > 0 else { return nil }
        return (String(parts[0]), p)
    }

    func run() async throws {
        logging.bootstrap(level: .error)
        var warm = [Double?]()
        var cold = [Double?]()
        var plain = [Double?]()
        for _ in 0..<starts {
            warm.append(await mappedFirstByte(warmClient: true))
            cold.append(await mappedFirstByte(warmClient: false))
            let (host, p) = tcpTarget!
            plain.append(EchoProbe.firstByte(host: host, port: p, timeout: timeout).map { $0 })
        }
        let rows = [("t2u warm (add_port)", warm), ("t2u cold (t2u_init)", cold), ("tcp connect+request", plain)]
        print("setup at RTT \(fmt(rttMs)) ms, \(starts) starts each (ms; x RTT)")
        print(pad("", 22) + pad("median", 9) + pad("worst", 9) + pad("median/RTT", 12) + "no first byte")
        for (name, samples) in rows {
            let s = Summary(samples)
            print(
                pad(name, 22) + pad(fmt(s.median), 9) + pad(fmt(s.worst), 9) + pad(rtts(s.median), 12) + "\(s.failed)")
        }
        let w = Summary(warm)
        let c = Summary(cold)
        let t = Summary(plain)
        print(
            "RESULT setup rtt_ms=\(fmt(rttMs)) t2u_first_byte_ms=\(fmt(w.median)) t2u_worst_ms=\(fmt(w.worst)) t2u_rtts=\(rtts(w.median)) t2u_failed=\(w.failed) tcp_first_byte_ms=\(fmt(t.median)) tcp_rtts=\(rtts(t.median)) cold_init_ms=\(fmt(c.median)) cold_worst_ms=\(fmt(c.worst)) cold_rtts=\(rtts(c.median)) cold_failed=\(c.failed) starts=\(starts)"
        )
    }

    /// One start through a new client: ms from add_port (warm) or from creating the client
    /// (cold) to the echoed byte; nil when none came.
    private func mappedFirstByte(warmClient: Bool) async -> Double? {
        var options = T2UClientOptions(server: server, serverPort: UInt16(port), serverKey: serverKey)
        options.knownDevices = knownDevices.map { .file($0) } ?? .memory
        let begin = monotonicMillis()
        guard let client = try? await T2UClient(options: options) else { return nil }
        let elapsed = await firstByte(client: client, since: begin, warm: warmClient)
        await client.shutdown()
        return elapsed
    }

    private func firstByte(client: T2UClient, since begin: Double, warm: Bool) async -> Double? {
        var t0 = begin
        if warm {
            let until = monotonicMillis() + timeout * 1000
            while await client.status() != .connected {
                guard monotonicMillis() < until else { return nil }
                try? await Task.sleep(for: .milliseconds(2))
            }
            t0 = monotonicMillis()
        }
        let request = PortMappingRequest(uuid: device, remotePort: UInt16(remotePort))
        guard let local = try? await client.addPort(request) else { return nil }
        let left = timeout - (monotonicMillis() - t0) / 1000
        let echoed = left > 0 && EchoProbe.firstByte(host: "127.0.0.1", port: local, timeout: left) != nil
        let elapsed = monotonicMillis() - t0
        await client.deletePort(local)
        return echoed ? elapsed : nil
    }

    private func rtts(_ ms: Double?) -> String {
        guard let ms, rttMs > 0 else { return "-" }
        return String(format: "%.2f", ms / rttMs)
    }
}

/// Median and worst of the starts that got a first byte, and how many did not.
struct Summary {
    let median: Double?
    let worst: Double?
    let failed: Int

    init(_ samples: [Double?]) {
        let got = samples.compactMap { $0 }.sorted()
        failed = samples.count - got.count
        median =
            got.isEmpty
            ? nil : (got.count % 2 == 1 ? got[got.count / 2] : (got[got.count / 2 - 1] + got[got.count / 2]) / 2)
        worst = got.last
    }
}

private func fmt(_ v: Double?) -> String { v.map { String(format: "%.1f", $0) } ?? "-" }
private func pad(_ s: String, _ n: Int) -> String {
    s.count >= n ? s + " " : s + String(repeating: " ", count: n - s.count)
}

func monotonicMillis() -> Double { Double(monotonicNanos()) / 1e6 }

/// Blocking TCP probe: connect, write one byte, time until one byte comes back.
enum EchoProbe {
    static func firstByte(host: String, port: UInt16, timeout: Double) -> Double? {
        let start = monotonicMillis()
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var tv = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - timeout.rounded(.down)) * 1e6))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        guard inet_pton(AF_INET, host, &addr.sin_addr) == 1 else { return nil }
        let connected = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else { return nil }
        var byte: UInt8 = 0x2a
        guard send(fd, &byte, 1, Int32(MSG_NOSIGNAL)) == 1 else { return nil }
        guard recv(fd, &byte, 1, 0) == 1 else { return nil }
        return monotonicMillis() - start
    }
}
