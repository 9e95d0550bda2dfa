// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Foundation
import T2UDemo
import T2UNIO

/// `t2u demo --serve`: prints how to reach the demo from C and holds until a signal.
enum DemoServe {
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
