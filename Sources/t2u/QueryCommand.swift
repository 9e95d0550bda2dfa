// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import ArgumentParser
import T2UCheck
import T2UClient

struct Query: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Ask the server whether devices are online.",
        discussion: """
            Prints one line per device: its UUID, online or offline, and when online its public IP as the server sees it and its extra parameters (t2usvr --extra).

            A device whose key (as the server vouches it) differs from the one pinned in the known-devices file (--known-devices) is reported as "device key changed: ..." with the file line to delete if the change is intended. A query never pins.

            Exit status: 0 every device online, 1 some offline, 2 a query failed (server unreachable, key rejected, known-devices file unusable), 3 a device key changed.

            With --json: one array of {"uuid", "status": online|offline|key changed|failed, "public_ip", "extra", "message"}.

            Example: t2u query --server t2u.example.com CAM-0001 CAM-0002
            """)

    @Argument(help: "Device UUIDs (the first argument of t2usvr).")
    var uuids: [String]
    @OptionGroup var server: ServerOptions
    @OptionGroup var pins: KnownDevicesOptions
    @Option(name: .long, help: "Seconds to wait for the server connection before querying.")
    var wait: Double = 5
    @OptionGroup var output: JSONOutputOptions
    @OptionGroup var log: LogOptions

    func validate() throws {
        if uuids.isEmpty { throw ValidationError("give at least one device UUID") }
    }

    func run() async throws {
        log.bootstrap()
        var options = server.clientOptions
        options.knownDevices = pins.location
        let client = try await startClient(options, exitCode: 2)
        let status = await waitForServer(client, seconds: wait)
        if status == .keyRejected {
            await client.shutdown()
            printError("\(server.label): \(status.explained)")
            throw ExitCode(2)
        }
        // No answer at all: every query would time out; say why once per device.
        let silence = status == .connecting ? await client.serverSilence() : nil
        var worst: Int32 = 0
        var rows: [[String: Any]] = []
        for uuid in uuids {
            var row: [String: Any] = ["uuid": uuid]
            let line: String
            if let silence {
                (row["status"], line) = ("failed", "\(uuid): query failed: \(silence)")
                worst = max(worst, 2)
            } else {
                do {
                    let info = try await client.query(uuid)
                    if let change = info.keyChange {
                        (row["status"], line) = ("key changed", "\(uuid): \(change)")
                        worst = max(worst, 3)
                    } else if info.online {
                        let extra = info.extra.isEmpty ? "" : ", extra \"\(info.extra)\""
                        (row["status"], row["public_ip"], row["extra"]) = ("online", info.publicIP, info.extra)
                        line = "\(uuid): online, public IP \(info.publicIP.isEmpty ? "unknown" : info.publicIP)\(extra)"
                    } else {
                        (row["status"], line) = ("offline", "\(uuid): offline")
                        worst = max(worst, 1)
                    }
                } catch {
                    (row["status"], line) = ("failed", "\(uuid): \(error)")
                    worst = max(worst, 2)
                }
            }
            row["message"] = line
            rows.append(row)
            if !output.json { print(line) }
        }
        if output.json { printJSON(rows) }
        await client.shutdown()
        if worst != 0 { throw ExitCode(worst) }
    }
}
