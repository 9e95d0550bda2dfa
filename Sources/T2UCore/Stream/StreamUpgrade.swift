// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// The HTTP/1.1 exchange that opens a fallback stream, so middleboxes see an ordinary
/// (TLS-wrapped) web request: the agent sends `GET /t2u` with an Upgrade header, the server
/// answers `101 Switching Protocols`; framed datagrams follow on both sides. Anything else gets
/// a plain 404 and the connection closes, as a web server would.
package enum StreamUpgrade {
    package static let path = "/t2u"
    package static let protocolName = "t2u"
    /// Largest head either side accepts.
    package static let maxHeadLength = 2048

    package static func request(host: String) -> [UInt8] {
        Array("GET \(path) HTTP/1.1\r\nHost: \(host)\r\nUpgrade: \(protocolName)\r\nConnection: Upgrade\r\n\r\n".utf8)
    }

    package static let switchingProtocols =
        Array("HTTP/1.1 101 Switching Protocols\r\nUpgrade: \(protocolName)\r\nConnection: Upgrade\r\n\r\n".utf8)

    package static let notFound = Array("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".utf8)

    /// The length of the head at the start of `bytes` (through the blank line), or nil when it
    /// has not ended yet. Throws when it is longer than `maxHeadLength`.
    package static func headLength(_ bytes: some Collection<UInt8>) throws(StreamFrameError) -> Int? {
        var matched = 0  // of "\r\n\r\n"
        var count = 0
        for byte in bytes {
            count += 1
            if count > maxHeadLength { throw .headTooLarge(limit: maxHeadLength) }
            switch (matched, byte) {
            case (0, 0x0D), (2, 0x0D): matched += 1
            case (1, 0x0A), (3, 0x0A): matched += 1
            case (_, 0x0D): matched = 1
            default: matched = 0
            }
            if matched == 4 { return count }
        }
        return nil
    }

    /// Checks a complete request head (server side): `GET /t2u HTTP/1.1` asking to upgrade.
    package static func checkRequest(_ head: some Collection<UInt8>) throws(StreamFrameError) {
        let lines = Self.lines(head)
        guard let first = lines.first, first == "GET \(path) HTTP/1.1" else {
            throw .unexpectedHead(lines.first.map(Self.printable) ?? "")
        }
        let upgrade = lines.dropFirst().contains { line in
            let parts = line.split(separator: ":", maxSplits: 1)
            return parts.count == 2 && parts[0].lowercased() == "upgrade"
                && parts[1].trimmingSpaces.lowercased() == protocolName
        }
        guard upgrade else { throw .unexpectedHead("\(first) (no Upgrade: \(protocolName) header)") }
    }

    /// Checks a complete response head (agent side): `HTTP/1.1 101`.
    package static func checkResponse(_ head: some Collection<UInt8>) throws(StreamFrameError) {
        let first = Self.lines(head).first ?? ""
        guard first.hasPrefix("HTTP/1.1 101") else { throw .unexpectedHead(Self.printable(first)) }
    }

    private static func lines(_ head: some Collection<UInt8>) -> [String] {
        String(decoding: head, as: UTF8.self)
            .split(separator: "\r\n", omittingEmptySubsequences: true).map(String.init)
    }

    /// At most 80 characters, control characters replaced: the line goes into an error message.
    private static func printable(_ line: String) -> String {
        String(
            String.UnicodeScalarView(
                line.unicodeScalars.prefix(80).map { $0.value < 0x20 || $0.value == 0x7F ? "?" : $0 }))
    }
}
