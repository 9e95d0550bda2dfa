// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Logging
import Synchronization
import T2UCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// `--log-format json`: one JSON object per line on stderr, for log shippers (journald, Loki,
/// Elasticsearch): {"time", "level", "label", "source", "message", "metadata"{...}}. Metadata
/// values are strings (nested lists and dictionaries as their text), so every line has one shape.
package struct JSONLogHandler: LogHandler {
    package var logLevel: Logger.Level = .info
    package var metadata: Logger.Metadata = [:]
    package var metadataProvider: Logger.MetadataProvider?
    private let label: String
    private let sink: @Sendable (String) -> Void

    /// `sink` receives each line with its newline (tests capture them).
    package init(label: String, sink: @escaping @Sendable (String) -> Void = writeToStandardError) {
        self.label = label
        self.sink = sink
    }

    package subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    package func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        var line = "{\"time\":" + Self.quoted(Self.timestamp())
        line += ",\"level\":" + Self.quoted(event.level.rawValue)
        line += ",\"label\":" + Self.quoted(label)
        line += ",\"source\":" + Self.quoted(event.source)
        line += ",\"message\":" + Self.quoted(event.message.description)
        if !merged.isEmpty {
            line += ",\"metadata\":{"
            line += merged.sorted { $0.key < $1.key }.map { Self.quoted($0.key) + ":" + Self.quoted("\($0.value)") }
                .joined(separator: ",")
            line += "}"
        }
        sink(line + "}\n")
    }

    static func quoted(_ text: String) -> String { JSONText.quoted(text) }

    /// UTC, milliseconds: 2026-12-03T13:05:03.123Z.
    static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var seconds = now.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        var buffer = [CChar](repeating: 0, count: 32)
        let count = strftime(&buffer, buffer.count, "%Y-%m-%dT%H:%M:%S", &parts)
        let millis = Int(now.tv_nsec / 1_000_000)
        let ms = millis < 10 ? "00\(millis)" : millis < 100 ? "0\(millis)" : "\(millis)"
        return String(decoding: buffer.prefix(count).map { UInt8(bitPattern: $0) }, as: UTF8.self) + ".\(ms)Z"
    }
}

/// Whole lines to stderr, one writer at a time (lines of concurrent loggers never interleave).
package func writeToStandardError(_ line: String) {
    stderrLock.withLock { _ in
        let bytes = Array(line.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { raw in write(2, raw.baseAddress! + offset, raw.count - offset) }
            if written <= 0 { break }
            offset += written
        }
    }
}

private let stderrLock = Mutex(())
