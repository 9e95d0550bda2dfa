// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// The status line and headers of an HTTP/1.1 response (from the IGD or in an SSDP datagram),
/// and the offset of the body. Bounded: at most 64 headers of at most `limit` bytes in all.
struct HTTPHead: Sendable {
    var status: Int
    /// Lower-cased names, trimmed values, in order.
    var headers: [(name: String, value: String)]
    var bodyOffset: Int

    func header(_ name: String) -> String? { headers.first { $0.name == name }?.value }

    static func parse(_ bytes: ArraySlice<UInt8>, limit: Int) throws(GatewayParseError) -> HTTPHead {
        let end = bytes.endIndex
        var lines: [String] = []
        var i = bytes.startIndex
        var lineStart = i
        var bodyOffset: Int?
        while i < end {
            guard i - bytes.startIndex < limit else { throw .tooLarge(limit) }
            if bytes[i] == 0x0A {
                var lineEnd = i
                if lineEnd > lineStart, bytes[lineEnd - 1] == 0x0D { lineEnd -= 1 }
                if lineEnd == lineStart {
                    bodyOffset = i + 1
                    break
                }
                guard lines.count < 65 else { throw .invalid("HTTP head (more than 64 headers)") }
                lines.append(String(decoding: bytes[lineStart..<lineEnd], as: UTF8.self))
                lineStart = i + 1
            }
            i += 1
        }
        guard let bodyOffset else { throw .truncated("HTTP head") }
        guard let first = lines.first else { throw .invalid("HTTP status line") }
        let parts = first.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: true)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), parts[1].count == 3, let status = Int(parts[1]) else {
            throw .invalid("HTTP status line")
        }
        var headers: [(String, String)] = []
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { throw .invalid("HTTP header line") }
            headers.append(
                (line[..<colon].trimmingSpaces.lowercased(), line[line.index(after: colon)...].trimmingSpaces))
        }
        return HTTPHead(status: status, headers: headers, bodyOffset: bodyOffset)
    }
}
