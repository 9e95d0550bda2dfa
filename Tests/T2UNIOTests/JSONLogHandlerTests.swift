// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Foundation
import Logging
import Synchronization
import T2UNIO
import Testing

/// `--log-format json`: one parseable object per line, every field present, text escaped.
@Suite struct JSONLogHandlerTests {
    final class Lines: Sendable {
        private let stored = Mutex<[String]>([])
        func append(_ line: String) { stored.withLock { $0.append(line) } }
        var all: [String] { stored.withLock { $0 } }
    }

    @Test func oneObjectPerLineWithEscapedTextAndMetadata() throws {
        let lines = Lines()
        var handler = JSONLogHandler(label: "t2u-server", sink: { lines.append($0) })
        handler.logLevel = .info
        handler[metadataKey: "server"] = "t2u-1"
        var logger = Logger(label: "t2u-server", factory: { _ in handler })
        logger.logLevel = .info
        logger.info("device \"cam\"\nregistered\u{1}", metadata: ["uuid": "CAM-1", "address": "192.0.2.1:7000"])
        logger.debug("not written")
        #expect(lines.all.count == 1)
        let line = try #require(lines.all.first)
        #expect(line.hasSuffix("}\n") && !line.dropLast().contains("\n"))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["level"] as? String == "info")
        #expect(object["label"] as? String == "t2u-server")
        #expect(object["message"] as? String == "device \"cam\"\nregistered\u{1}")
        #expect((object["time"] as? String)?.hasSuffix("Z") == true)
        #expect(
            object["metadata"] as? [String: String] == [
                "uuid": "CAM-1", "address": "192.0.2.1:7000", "server": "t2u-1",
            ])
        #expect(object["source"] is String)
    }
}
