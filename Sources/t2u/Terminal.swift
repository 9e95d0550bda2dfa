// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import ArgumentParser
import Dispatch
import Foundation
import T2UClient

/// One status line that rewrites itself on a terminal and prints plain lines otherwise (logs, pipes).
struct StatusLine {
    let isTerminal = isatty(STDOUT_FILENO) == 1
    private var shown = false

    mutating func update(_ line: String) {
        if isTerminal {
            write("\r\u{1B}[K" + line)
            shown = true
        } else {
            write(line + "\n")
        }
    }

    /// A message on its own line, above the status line.
    mutating func note(_ message: String) {
        if isTerminal && shown {
            write("\r\u{1B}[K" + message + "\n")
            shown = false
        } else {
            write(message + "\n")
        }
    }

    /// Leaves the status line in place and moves to a fresh line.
    mutating func finish() {
        if isTerminal && shown { write("\n") }
        shown = false
    }

    private func write(_ text: String) {
        print(text, terminator: "")
        fflush(nil)
    }
}

func printError(_ message: String) {
    fflush(nil)
    FileHandle.standardError.write(Data("t2u: \(message)\n".utf8))
}

/// The client a command runs with; an unusable configuration (a malformed known-devices file,
/// server key or address) is printed on stderr and ends the command with `exitCode`.
func startClient(_ options: T2UClientOptions, exitCode: Int32 = 1) async throws -> T2UClient {
    do {
        return try await T2UClient(options: options)
    } catch {
        printError("\(error)")
        throw ExitCode(exitCode)
    }
}
