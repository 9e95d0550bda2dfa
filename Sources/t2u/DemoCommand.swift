// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import ArgumentParser
import Foundation
import T2UCheck
import T2UDemo

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
                let port = serverPort ?? (serve ? DemoRun.preferredServerPort : 0)
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
