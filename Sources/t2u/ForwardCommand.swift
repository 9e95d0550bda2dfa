// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import ArgumentParser
import T2UCheck
import T2UClient
import T2UNIO

struct Forward: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Map a TCP port of a device to a local port until Ctrl-C.",
        discussion: """
            Opens 127.0.0.1:LOCAL (--local, or a free port) at once and builds the P2P link to the device in the background: direct through the NATs, on the LAN, or relayed by the server when no direct path works. Each TCP connection to the local port becomes a connection from the device to REMOTE_PORT on the device itself, or on the host given by --to on the device's LAN (the device must allow it: t2usvr --allow).

            A status line refreshed every second shows the link state in words (connecting, device offline, retrying, ...), the path (direct, LAN or relay) and its round-trip time, the current receive/send rates and the totals. On a terminal the line rewrites itself; otherwise one line per second is printed.

            Ctrl-C (or SIGTERM) closes the local port and every connection through it, then exits.

            The device's key is pinned on first contact in the known-devices file (--known-devices). If the device later presents another key, the link is refused ("device key changed: ...", naming the file line to delete if the change is intended) and retried at the usual interval.

            The password comes from --password, --password-file or the environment variable T2U_PASSWORD (in that order); the server key from --key or T2U_SERVER_KEY.

            Exit status: 0 after Ctrl-C, 1 if the local port cannot be opened, the known-devices file cannot be used or the device password is rejected, 2 if the server key is rejected.

            Example: t2u forward CAM-0001 554 --local 8554 --password secret --server t2u.example.com
            """)

    @Argument(help: "Device UUID.")
    var uuid: String
    @Argument(help: "TCP port on the device (or on the --to host).")
    var remotePort: Int
    @Option(name: .long, help: "Local TCP port to listen on (0: any free port).")
    var local: Int = 0
    @Option(name: .long, help: "Host on the device's LAN to connect to; 127.0.0.1 is the device itself.")
    var to: String = "127.0.0.1"
    @OptionGroup var secret: PasswordOptions
    @OptionGroup var pins: KnownDevicesOptions
    @OptionGroup var server: ServerOptions
    @OptionGroup var paths: PathOptions
    @OptionGroup var log: LogOptions

    func validate() throws {
        guard (1...65535).contains(remotePort) else { throw ValidationError("REMOTE_PORT must be 1...65535") }
        guard (0...65535).contains(local) else { throw ValidationError("--local must be 0...65535") }
    }

    private enum Outcome: Sendable {
        case signal(Int32)
        case gaveUp(String)
        case eventsEnded
    }

    func run() async throws {
        log.bootstrap()
        let password = try secret.resolve()
        let signals = await TerminationSignals()
        var options = server.clientOptions
        options.knownDevices = pins.location
        paths.apply(to: &options)
        let client = try await startClient(options)
        let request = PortMappingRequest(
            uuid: uuid, remoteHost: to, remotePort: UInt16(remotePort), localPort: UInt16(local), password: password)
        let localPort: UInt16
        do {
            localPort = try await client.addPort(request)
        } catch {
            await client.shutdown()
            printError("\(error)")
            throw ExitCode(1)
        }
        let display = ForwardDisplay()
        await display.note(
            "forwarding 127.0.0.1:\(localPort) -> \(uuid) \(to):\(remotePort) via \(server.label) (Ctrl-C to stop)")

        let outcome = await withTaskGroup(of: Outcome.self) { group in
            group.addTask { .signal(await signals.wait()) }
            group.addTask {
                for await event in client.events {
                    switch event {
                    case .connected(let port, let setupMillis) where port == localPort:
                        await display.note("link up in \(setupMillis) ms")
                    case .disconnected(let port, let code) where port == localPort:
                        // A server that never answered is the cause to name, not the P2P link.
                        let silence = await client.serverSilence()
                        await display.note("link down: \(silence.map { "\($0)" } ?? disconnectWords(code))")
                    case .deviceKeyChanged(let port, let change) where port == localPort:
                        await display.note("\(change)")
                    default:
                        break
                    }
                }
                return .eventsEnded
            }
            group.addTask { await Self.refresh(client: client, localPort: localPort, display: display) }
            var result = Outcome.eventsEnded
            while let next = await group.next() {
                if case .eventsEnded = next { continue }
                result = next
                break
            }
            group.cancelAll()
            return result
        }

        await display.finish()
        await client.deletePort(localPort)
        await client.shutdown()
        switch outcome {
        case .signal, .eventsEnded:
            print("closed 127.0.0.1:\(localPort)")
        case .gaveUp(let reason):
            printError(reason)
            throw ExitCode(reason.contains("server key") ? 2 : 1)
        }
    }

    /// Once a second: the status line; returns only when retrying is pointless (or on cancellation).
    private static func refresh(client: T2UClient, localPort: UInt16, display: ForwardDisplay) async -> Outcome {
        while !Task.isCancelled {
            let (status, path) = await client.portStatus(localPort)
            let rates = await client.rate(localPort)
            var parts = [status.words]
            if status != .connected, let silence = await client.serverSilence() { parts = ["\(silence)"] }
            if status == .connected, let path {
                parts.append(path.words)
                parts.append("rtt \(fixed(path.rttMillis, 1)) ms")
                if let reason = path.relayReason { parts.append("relayed: \(reason)") }
            }
            if status == .connecting, await client.status() == .keyRejected {
                return .gaveUp("server key rejected")
            }
            if let rates {
                parts.append(
                    "in \(rate(kilobytesPerSecond: rates.currentReceiveKBps)) out \(rate(kilobytesPerSecond: rates.currentSendKBps))"
                )
                parts.append("total in \(amount(Double(rates.totalReceived))) out \(amount(Double(rates.totalSent)))")
            }
            await display.update(parts.joined(separator: " | "))
            switch status {
            case .passwordRejected: return .gaveUp("device password rejected")
            case .noSuchPort: return .gaveUp("the local port is gone")
            default: break
            }
            try? await Task.sleep(for: .seconds(1))
        }
        return .eventsEnded
    }
}

/// Serializes the status line between the refresh loop and the event printer.
actor ForwardDisplay {
    private var line = StatusLine()
    func update(_ text: String) { line.update(text) }
    func note(_ text: String) { line.note(text) }
    func finish() { line.finish() }
}
