// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Logging
import Synchronization

/// The process's log level, changeable while it runs (`t2u-server` reloads it on SIGHUP).
/// swift-log asks a handler for its level on every log call, so handlers made by `LogBootstrap`
/// read it from here instead of keeping a copy.
package enum LogLevelControl {
    /// The level's index in `Logger.Level.allCases`: an atomic load per log call, no lock.
    private static let index = Atomic<Int>(Logger.Level.allCases.firstIndex(of: .info)!)

    package static var current: Logger.Level {
        get { Logger.Level.allCases[index.load(ordering: .relaxed)] }
        set { index.store(Logger.Level.allCases.firstIndex(of: newValue)!, ordering: .relaxed) }
    }
}

/// Wraps a handler so its level is `LogLevelControl.current`, unless one logger set its own.
struct ControlledLevelLogHandler: LogHandler {
    var inner: any LogHandler
    /// A level set on one logger (`logger.logLevel = ...`) stays with that logger only.
    private var override: Logger.Level?

    init(_ inner: any LogHandler) {
        var inner = inner
        inner.logLevel = .trace  // the filtering happens here, through `logLevel`
        self.inner = inner
    }

    var logLevel: Logger.Level {
        get { override ?? LogLevelControl.current }
        set { override = newValue }
    }

    var metadata: Logger.Metadata {
        get { inner.metadata }
        set { inner.metadata = newValue }
    }

    var metadataProvider: Logger.MetadataProvider? {
        get { inner.metadataProvider }
        set { inner.metadataProvider = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { inner[metadataKey: key] }
        set { inner[metadataKey: key] = newValue }
    }

    func log(event: LogEvent) {
        inner.log(event: event)
    }
}
