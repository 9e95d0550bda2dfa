// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import ArgumentParser
import Logging
import T2UNIO

/// `--log-format text|json`, shared by every binary (issue 14: one option, one help text, one
/// message for a bad value). Each binary keeps its own `--log-level` (their defaults differ) and
/// passes the level to `bootstrap(level:)`.
package struct LogFormatOption: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(LogFormat.help, valueName: "text|json"))
    package var logFormat: String = "text"

    package init() {}

    package func validate() throws {
        if LogFormat(rawValue: logFormat) == nil { throw ValidationError(Self.invalidMessage(logFormat)) }
    }

    /// The format chosen (text when the value was not validated).
    package var format: LogFormat { LogFormat(rawValue: logFormat) ?? .text }

    /// The message for a value that is neither text nor json.
    package static func invalidMessage(_ value: String) -> String {
        "unknown --log-format '\(value)': use text or json"
    }

    /// Installs the process-wide log handler (`LogBootstrap`, once per process) at `level`.
    package func bootstrap(level: Logger.Level) {
        LogBootstrap.bootstrap(level: level, format: format)
    }
}
