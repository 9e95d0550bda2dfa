// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import ArgumentParser
import T2UCheck
import T2UClient

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check that this machine can register with a t2u server.",
        discussion: """
            Registers as a client, waits up to --wait seconds and prints one of: connected; no answer from server (with the tries made: wrong address or port, UDP blocked, server down); connecting (the server answered, registration not finished); server key rejected.

            Exit status: 0 connected, 1 connecting, 2 server key rejected.

            Example: t2u status --server t2u.example.com --port 7000
                     t2u status --server 192.0.2.10:7000 --json
            """)

    @OptionGroup var server: ServerOptions
    @Option(name: .long, help: "Seconds to wait for the server's answer.")
    var wait: Double = 5
    @OptionGroup var output: JSONOutputOptions
    @OptionGroup var log: LogOptions

    func run() async throws {
        log.bootstrap()
        var options = server.clientOptions
        options.knownDevices = .memory  // no device is contacted
        let client = try await T2UClient(options: options)
        let status = await waitForServer(client, seconds: wait)
        let silence = status == .connecting ? await client.serverSilence() : nil
        await client.shutdown()
        let label = server.label
        let message = silence.map { "\($0)" } ?? "\(label): \(status.explained)"
        if output.json {
            var object: [String: Any] = ["server": label, "status": status.words, "message": message]
            if let silence {
                object["status"] = "no answer"
                object["tries"] = silence.tries
                object["seconds"] = Double(silence.seconds)
            }
            printJSON(object)
        } else {
            print(message)
        }
        switch status {
        case .connected: return
        case .connecting: throw ExitCode(1)
        case .keyRejected: throw ExitCode(2)
        }
    }
}
