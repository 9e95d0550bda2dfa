// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// A whole HTTP/1.1 response as read from the IGD until it closed the connection: status and
/// body (Content-Length, chunked, or up to the close). Bounded by `maxLength`.
package struct HTTPResponse: Sendable, Equatable {
    /// Device descriptions are a few KiB; SOAP answers less.
    package static let maxLength = 65_536

    package var status: Int
    package var body: [UInt8]

    package init(status: Int, body: [UInt8]) {
        self.status = status
        self.body = body
    }

    package static func parse(_ bytes: [UInt8]) throws(GatewayParseError) -> HTTPResponse {
        guard bytes.count <= maxLength else { throw .tooLarge(maxLength) }
        let head = try HTTPHead.parse(bytes[...], limit: maxLength)
        let rest = bytes[head.bodyOffset...]
        if head.header("transfer-encoding")?.lowercased().contains("chunked") == true {
            return HTTPResponse(status: head.status, body: try dechunk(rest))
        }
        if let text = head.header("content-length") {
            guard let length = Int(text), length >= 0 else { throw .invalid("HTTP Content-Length") }
            guard rest.count >= length else { throw .truncated("HTTP body (\(rest.count) of \(length) bytes)") }
            return HTTPResponse(status: head.status, body: Array(rest.prefix(length)))
        }
        return HTTPResponse(status: head.status, body: Array(rest))
    }

    private static func dechunk(_ bytes: ArraySlice<UInt8>) throws(GatewayParseError) -> [UInt8] {
        var out: [UInt8] = []
        var i = bytes.startIndex
        while true {
            guard let lf = bytes[i...].firstIndex(of: 0x0A) else { throw .truncated("HTTP chunk size") }
            let line = String(decoding: bytes[i..<lf], as: UTF8.self)
            let sizeText = line.split(separator: ";", maxSplits: 1).first.map { $0.trimmingSpaces } ?? ""
            guard !sizeText.isEmpty, sizeText.count <= 8, let size = Int(sizeText, radix: 16) else {
                throw .invalid("HTTP chunk size")
            }
            i = lf + 1
            if size == 0 { return out }
            guard bytes.endIndex - i >= size else { throw .truncated("HTTP chunk") }
            out += bytes[i..<(i + size)]
            i += size
            // CRLF after the chunk data.
            if i < bytes.endIndex, bytes[i] == 0x0D { i += 1 }
            if i < bytes.endIndex, bytes[i] == 0x0A { i += 1 }
        }
    }
}
