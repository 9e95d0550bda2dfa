// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// Why bytes on a TCP fallback stream were refused. The stream carries t2u datagrams behind a
/// small HTTP/1.1 upgrade head; any of these closes that one stream (the peer may reconnect).
package enum StreamFrameError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A length prefix announced more than the limit (a garbage stream or an attack).
    case frameTooLarge(length: Int, limit: Int)
    /// A zero length prefix: no t2u datagram is empty.
    case emptyFrame
    /// The upgrade head grew past its limit without ending.
    case headTooLarge(limit: Int)
    /// The upgrade head is not the one expected (wrong path, method, or status).
    case unexpectedHead(String)

    package var description: String {
        switch self {
        case .frameTooLarge(let length, let limit):
            "stream frame of \(length) bytes exceeds the limit of \(limit): not a t2u stream, closing it"
        case .emptyFrame: "empty stream frame: not a t2u stream, closing it"
        case .headTooLarge(let limit): "HTTP head longer than \(limit) bytes: not a t2u stream, closing it"
        case .unexpectedHead(let line): "unexpected HTTP head \"\(line)\": not a t2u upgrade, closing it"
        }
    }
}
