import ArgumentParser
import Logging
import T2UClient

/// Where the server cloud is (what `t2u_init` takes).
struct ServerOptions: ParsableArguments {
    @Option(name: .long, help: "t2u-server IP address or host name.")
    var server: String

    @Option(name: .long, help: "t2u-server main UDP port.")
    var port: Int = 7000

    @Option(name: .long, help: "svrkey: the server's public key, 64 hex digits (t2u-server --print-public-key). Omitted: the server is not authenticated.")
    var key: String?

    func validate() throws {
        guard (1...65535).contains(port) else { throw ValidationError("--port must be 1...65535") }
        guard !server.isEmpty else { throw ValidationError("--server must not be empty") }
    }

    var clientOptions: T2UClientOptions {
        T2UClientOptions(server: server, serverPort: UInt16(port), serverKey: key)
    }
}

/// Diagnostics go to stderr through swift-log; results go to stdout.
struct LogOptions: ParsableArguments {
    @Option(name: .long, help: "Diagnostics on stderr: trace, debug, info, notice, warning, error or critical.")
    var logLevel: String = "warning"

    func validate() throws {
        if Logger.Level(rawValue: logLevel) == nil { throw ValidationError("unknown --log-level \(logLevel)") }
    }

    func bootstrap() {
        let level = Logger.Level(rawValue: logLevel) ?? .warning
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}

/// Waits up to `seconds` for the server connection to settle; returns the last status seen.
func waitForServer(_ client: T2UClient, seconds: Double) async -> ServerConnectionStatus {
    let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
    var status = await client.status()
    while status == .connecting && ContinuousClock.now < deadline {
        try? await Task.sleep(for: .milliseconds(100))
        status = await client.status()
    }
    return status
}
