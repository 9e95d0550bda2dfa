// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// A secret an executable takes from a flag, a file or the environment, in that order: the
/// first one given wins. A flag is visible to every user in the process list, so using one
/// earns a warning (`flagWarning`); a file is read with `KeyFile.readSecret` (refused when a
/// symlink or group/world-readable).
package enum CommandLineSecret {
    package enum Source: Equatable, Sendable {
        case flag
        case file(String)
        case environment(String)
    }

    /// The secret and where it came from; nil when none of the three is given (or the
    /// environment variable is empty). `what` names it in errors ("password file").
    package static func resolve(
        flag: String?, file: String?, environmentVariable: String, what: String,
        environment: (String) -> String? = processEnvironment
    ) throws(KeyFileError) -> (value: String, source: Source)? {
        if let flag { return (flag, .flag) }
        if let file {
            let bytes = try KeyFile.readSecret(path: file, what: what)
            guard let text = String(validating: bytes, as: UTF8.self) else {
                throw .corrupt(path: file, what: what, problem: "not UTF-8 text")
            }
            return (text, .file(file))
        }
        if let value = environment(environmentVariable), !value.isEmpty {
            return (value, .environment(environmentVariable))
        }
        return nil
    }

    /// The warning for a secret given as `flag`, naming the alternatives.
    package static func flagWarning(flag: String, fileFlag: String, environmentVariable: String) -> String {
        "\(flag) on the command line is visible to other users in the process list (ps); "
            + "use \(fileFlag) PATH (a file only you can read) or the environment variable \(environmentVariable) instead"
    }

    package static func processEnvironment(_ name: String) -> String? {
        getenv(name).flatMap { String(validatingCString: $0) }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
