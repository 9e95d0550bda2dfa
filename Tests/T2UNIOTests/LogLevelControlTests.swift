// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Logging
import Testing

@testable import T2UNIO

/// The process's log level changes while loggers live (t2u-server's SIGHUP): loggers made before
/// the change follow it; a level set on one logger stays with that logger.
@Suite struct LogLevelControlTests {
    @Test func loggersFollowTheProcessLevelUnlessSetThemselves() {
        let lines = JSONLogHandlerTests.Lines()
        let before = LogLevelControl.current
        defer { LogLevelControl.current = before }
        let factory = { (label: String) in
            ControlledLevelLogHandler(JSONLogHandler(label: label, sink: { lines.append($0) }))
        }
        let logger = Logger(label: "t2u-server", factory: factory)
        var pinned = Logger(label: "pinned", factory: factory)
        pinned.logLevel = .error

        LogLevelControl.current = .info
        logger.debug("hidden")
        logger.info("shown 1")
        LogLevelControl.current = .debug
        logger.debug("shown 2")
        pinned.warning("hidden, pinned to error")
        LogLevelControl.current = .error
        logger.warning("hidden")
        pinned.error("shown 3")
        #expect(lines.all.count == 3)
        #expect(lines.all.allSatisfy { $0.contains("\"shown ") })
    }
}
