import ArgumentParser
import T2UClient

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check that this machine can register with a t2u server.",
        discussion: """
            Registers as a client, waits up to --wait seconds and prints one of: connected, connecting (no answer yet: wrong address, firewall, server down), server key rejected.

            Exit status: 0 connected, 1 connecting, 2 server key rejected.

            Example: t2u status --server t2u.example.com --port 7000
            """)

    @OptionGroup var server: ServerOptions
    @Option(name: .long, help: "Seconds to wait for the server's answer.")
    var wait: Double = 5
    @OptionGroup var log: LogOptions

    func run() async throws {
        log.bootstrap()
        var options = server.clientOptions
        options.knownDevices = .memory  // no device is contacted
        let client = try T2UClient(options: options)
        let status = await waitForServer(client, seconds: wait)
        await client.shutdown()
        print("\(server.server):\(server.port): \(status.words)")
        switch status {
        case .connected: return
        case .connecting: throw ExitCode(1)
        case .keyRejected: throw ExitCode(2)
        }
    }
}
