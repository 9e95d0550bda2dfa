// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Foundation
import T2UNIO
import Testing

/// Secrets off the command line: flag, then file, then environment; unsafe files refused.
@Suite struct CommandLineSecretTests {
    static func directory() throws -> String {
        var template = Array((NSTemporaryDirectory() + "t2u-secret-XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else { throw CocoaError(.fileWriteUnknown) }
        return String(cString: made)
    }

    static func write(_ path: String, _ text: String, mode: mode_t) {
        _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
        chmod(path, mode)
    }

    @Test func flagThenFileThenEnvironment() throws {
        let directory = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = directory + "/password"
        Self.write(file, "from-file\r\n", mode: 0o600)
        let environment: (String) -> String? = { $0 == "T2U_PASSWORD" ? "from-env" : nil }
        func resolve(flag: String?, file: String?) throws -> (String, CommandLineSecret.Source)? {
            try CommandLineSecret.resolve(
                flag: flag, file: file, environmentVariable: "T2U_PASSWORD", what: "password file",
                environment: environment
            ).map { ($0.value, $0.source) }
        }
        #expect(try resolve(flag: "from-flag", file: file)! == ("from-flag", .flag))
        #expect(try resolve(flag: nil, file: file)! == ("from-file", .file(file)))
        #expect(try resolve(flag: nil, file: nil)! == ("from-env", .environment("T2U_PASSWORD")))
        let none = try CommandLineSecret.resolve(
            flag: nil, file: nil, environmentVariable: "T2U_PASSWORD", what: "password file",
            environment: { _ in "" })
        #expect(none == nil)
    }

    /// A password file other users can read, or a link, is refused with what to do.
    @Test func unsafeOrEmptyPasswordFilesAreRefused() throws {
        let directory = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let readable = directory + "/readable"
        Self.write(readable, "secret\n", mode: 0o644)
        #expect {
            try CommandLineSecret.resolve(flag: nil, file: readable, environmentVariable: "X", what: "password file")
        } throws: { error in
            "\(error)".contains("lets other users read it") && "\(error)".contains("chmod 600 \(readable)")
        }
        let link = directory + "/link"
        chmod(readable, 0o600)
        symlink(readable, link)
        #expect(throws: KeyFileError.unsafe(path: link, what: "password file", problem: "it is a symbolic link")) {
            try CommandLineSecret.resolve(flag: nil, file: link, environmentVariable: "X", what: "password file")
        }
        let empty = directory + "/empty"
        Self.write(empty, "\n", mode: 0o600)
        #expect(throws: KeyFileError.corrupt(path: empty, what: "password file", problem: "empty")) {
            try CommandLineSecret.resolve(flag: nil, file: empty, environmentVariable: "X", what: "password file")
        }
    }

    @Test func warningNamesTheAlternatives() {
        let text = CommandLineSecret.flagWarning(
            flag: "--password", fileFlag: "--password-file", environmentVariable: "T2U_PASSWORD")
        #expect(text.contains("visible to other users in the process list"))
        #expect(text.contains("--password-file PATH") && text.contains("T2U_PASSWORD"))
    }
}
