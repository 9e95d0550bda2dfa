// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Foundation
import NIOCore
import NIOPosix
import T2UNIO

/// Where an outside client finds the demo's server and device while `t2u demo --serve` runs.
struct DemoEndpoints: Sendable {
    var serverPort: Int
    var observationPort: Int
    var uuid: String
    /// The device's TCP echo service (on the device, 127.0.0.1).
    var servicePort: Int
}

/// `t2u demo --serve`: prints how to reach the demo from C and holds until a signal.
enum DemoServe {
    /// Fixed defaults, so the printed commands stay the same from run to run (the manual's 7000).
    static let preferredServerPort = 7000
    static let preferredServicePort = 7080

    /// Prints the endpoints and the C example's commands; returns on SIGINT or SIGTERM.
    static func hold(_ endpoints: DemoEndpoints) async {
        let signals = await TerminationSignals()
        for line in instructions(endpoints, repositoryRoot: repositoryRoot()) { print(line) }
        fflush(nil)
        let sig = await signals.wait()
        print("serve    \(sig == SIGINT ? "SIGINT" : "SIGTERM"): stopping the device and the server")
        fflush(nil)
    }

    static func instructions(_ endpoints: DemoEndpoints, repositoryRoot: String?) -> [String] {
        let flowArgs = "\(endpoints.uuid) 127.0.0.1 \(endpoints.serverPort) \(endpoints.servicePort)"
        var lines = [
            "",
            "serving until Ctrl-C or SIGTERM (pid \(getpid())); no server key, no device password:",
            "  server   127.0.0.1:\(endpoints.serverPort) (UDP; NAT probes on \(endpoints.observationPort))",
            "  device   \(endpoints.uuid)",
            "  service  port \(endpoints.servicePort) on the device: TCP echo",
            "",
            "the C example against them, in another shell:",
        ]
        if let root = repositoryRoot {
            lines += [
                "  cd \(shellQuoted(root))",
                "  scripts/build-libt2u.sh",
                "  export PKG_CONFIG_PATH=\(shellQuoted(root + "/.build/libt2u/lib/pkgconfig"))",
            ]
        } else {
            lines += [
                "  # from the t2u repository's root:",
                "  scripts/build-libt2u.sh",
                "  export PKG_CONFIG_PATH=\"$PWD/.build/libt2u/lib/pkgconfig\"",
            ]
        }
        lines += [
            "  export T2U_KNOWN_DEVICES=\"$(mktemp)\"   # the demo device has a new key on every run: pin it in a throwaway file",
            "  cd Examples/c && cc flow.c $(pkg-config --cflags --libs t2u) -o flow",
            "  ./flow \(flowArgs)",
            "",
        ]
        return lines
    }

    /// The current directory when it is the t2u repository (the usual `swift run` case).
    private static func repositoryRoot() -> String? {
        let directory = FileManager.default.currentDirectoryPath
        let markers = ["scripts/build-libt2u.sh", "Examples/c/flow.c"]
        return markers.allSatisfy { FileManager.default.fileExists(atPath: directory + "/" + $0) } ? directory : nil
    }

    private static func shellQuoted(_ text: String) -> String {
        let plain = text.allSatisfy { $0.isLetter || $0.isNumber || "/._-+,:@".contains($0) }
        return plain ? text : "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}

/// The device's service for outside clients: echoes every byte back (flow.c prints the reply).
struct DemoEcho {
    let port: Int
    private let channel: Channel

    /// Binds 127.0.0.1:`preferredPort`, or a free port when that one is taken.
    static func start(group: EventLoopGroup, preferredPort: Int) async throws -> DemoEcho {
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 16)
            .childChannelInitializer { child in
                child.eventLoop.makeCompletedFuture { try child.pipeline.syncOperations.addHandler(TCPEchoHandler()) }
            }
        let channel: Channel
        do {
            channel = try await bootstrap.bind(host: "127.0.0.1", port: preferredPort).get()
        } catch {
            channel = try await bootstrap.bind(host: "127.0.0.1", port: 0).get()
        }
        guard let port = channel.localAddress?.port else { throw ChannelError.inappropriateOperationForState }
        return DemoEcho(port: port, channel: channel)
    }

    func close() async {
        try? await channel.close()
    }
}
