import Logging

/// How a binary writes its logs to stderr: `text` (swift-log's StreamLogHandler) or `json` (one
/// JSON object per line, `JSONLogHandler`). Every binary takes `--log-format text|json`.
public enum LogFormat: String, CaseIterable, Sendable {
    case text
    case json

    public static let help = "Log lines on stderr: text, or json (one JSON object per line: time, level, label, source, message, metadata)."
}

public enum LogBootstrap {
    /// Installs the process-wide log handler (once per process, as swift-log requires).
    public static func bootstrap(level: Logger.Level, format: LogFormat) {
        LoggingSystem.bootstrap { label in
            switch format {
            case .text:
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            case .json:
                var handler = JSONLogHandler(label: label)
                handler.logLevel = level
                return handler
            }
        }
    }
}
