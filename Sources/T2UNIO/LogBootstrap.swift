// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Logging

/// How a binary writes its logs to stderr: `text` (swift-log's StreamLogHandler) or `json` (one
/// JSON object per line, `JSONLogHandler`). Every binary takes `--log-format text|json`.
package enum LogFormat: String, CaseIterable, Sendable {
    case text
    case json

    package static let help =
        "Log lines on stderr: text, or json (one JSON object per line: time, level, label, source, message, metadata)."
}

package enum LogBootstrap {
    /// Installs the process-wide log handler (once per process, as swift-log requires). The
    /// level can change later through `LogLevelControl.current`.
    package static func bootstrap(level: Logger.Level, format: LogFormat) {
        LogLevelControl.current = level
        LoggingSystem.bootstrap { label in
            switch format {
            case .text: ControlledLevelLogHandler(StreamLogHandler.standardError(label: label))
            case .json: ControlledLevelLogHandler(JSONLogHandler(label: label))
            }
        }
    }
}
