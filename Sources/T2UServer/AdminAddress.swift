// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// Where the admin HTTP endpoint (`/metrics`, `/status`, `/dashboard`) listens: `PORT` (loopback),
/// `HOST:PORT` or `[IPv6]:PORT`. Loopback unless the operator explicitly allows remote access.
public struct AdminAddress: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    public enum ParseError: Error, Equatable, CustomStringConvertible {
        case invalid(String)
        /// A non-loopback host without `--admin-allow-remote`.
        case notLoopback(String)

        public var description: String {
            switch self {
            case .invalid(let text):
                "invalid admin address '\(text)': use PORT, HOST:PORT or [IPv6]:PORT with a port in 1...65535 (0 picks a free port)"
            case .notLoopback(let host):
                "admin address \(host) is not loopback: the endpoint has no authentication; bind 127.0.0.1 (or put it behind a proxy) or pass --admin-allow-remote"
            }
        }
    }

    /// Parses `text`; a bare port binds 127.0.0.1. Throws `.notLoopback` for other hosts unless
    /// `allowRemote`.
    public static func parse(_ text: String, allowRemote: Bool) throws(ParseError) -> AdminAddress {
        let host: String
        let portText: Substring
        if let port = Int(text) {
            guard (0...65535).contains(port) else { throw .invalid(text) }
            return AdminAddress(host: "127.0.0.1", port: port)
        } else if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else {
                throw .invalid(text)
            }
            host = String(text[text.index(after: text.startIndex)..<close])
            portText = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":"), text.firstIndex(of: ":") == colon else { throw .invalid(text) }
            host = String(text[..<colon])
            portText = text[text.index(after: colon)...]
        }
        guard !host.isEmpty, let port = Int(portText), (0...65535).contains(port) else { throw .invalid(text) }
        let address = AdminAddress(host: host, port: port)
        guard allowRemote || address.isLoopback else { throw .notLoopback(host) }
        return address
    }

    /// 127.0.0.0/8, ::1 or localhost.
    public var isLoopback: Bool {
        if host == "localhost" || host == "::1" { return true }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4, parts.allSatisfy({ UInt8($0) != nil }) else { return false }
        return parts[0] == "127"
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
