// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A C program did not ask for the SDK's info lines on its stderr: libt2u logs warnings and
/// errors only, unless T2U_LOG_LEVEL (trace ... critical) says otherwise. The Swift modules are
/// private to libt2u.so (version script), so this bootstrap touches no other swift-log user.
enum LogSetup {
    private static let done = Mutex(false)

    static func once() {
        done.withLock { done in
            guard !done else { return }
            done = true
            let level =
                getenv("T2U_LOG_LEVEL").flatMap { String(validatingCString: $0) }
                .flatMap { Logger.Level(rawValue: $0.lowercased()) } ?? .warning
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
        }
    }
}
