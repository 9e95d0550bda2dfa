/// `key=value` lines (blank lines and `#` comments ignored) for `t2u-server --config FILE`.
/// Keys: port, observation-port, bind, key-file, log-level, server-id, keepalive, relay (true/false),
/// relay-rate (bytes/s), presence-timeout (s), database (postgres:// URL), advertise (host:port),
/// admin, admin-allow-remote, signaling-rate, signaling-burst, max-tracked-sources.
public struct ServerConfigFile: Equatable, Sendable {
    public var values: [String: String] = [:]

    public enum ParseError: Error, Equatable, Sendable {
        case missingEquals(line: Int)
        case unknownKey(String, line: Int)
        /// The v1 shared secret `key`: v2 servers have a key pair instead.
        case sharedKeyRemoved(line: Int)
    }

    public static let knownKeys: Set<String> = [
        "port", "observation-port", "bind", "key-file", "log-level", "server-id", "keepalive", "relay", "relay-rate", "presence-timeout",
        "database", "advertise",
        "admin", "admin-allow-remote", "signaling-rate", "signaling-burst", "max-tracked-sources",
    ]

    public init(values: [String: String] = [:]) { self.values = values }

    public init(parsing text: String) throws(ParseError) {
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.trimmingWhitespace()
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let equals = line.firstIndex(of: "=") else { throw .missingEquals(line: index + 1) }
            let key = String(line[..<equals]).trimmingWhitespace()
            let value = String(line[line.index(after: equals)...]).trimmingWhitespace()
            if key == "key" { throw .sharedKeyRemoved(line: index + 1) }
            guard Self.knownKeys.contains(key) else { throw .unknownKey(key, line: index + 1) }
            values[key] = value
        }
    }

    public subscript(key: String) -> String? { values[key] }
}

extension StringProtocol {
    func trimmingWhitespace() -> String {
        var slice = Substring(self)
        while let first = slice.first, first.isWhitespace { slice.removeFirst() }
        while let last = slice.last, last.isWhitespace { slice.removeLast() }
        return String(slice)
    }
}

extension ServerConfigFile.ParseError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .missingEquals(let line): "line \(line): expected key=value"
        case .unknownKey(let key, let line): "line \(line): unknown key \(key)"
        case .sharedKeyRemoved(let line):
            "line \(line): `key` (a shared secret) is no longer supported: the server has a key pair. "
                + "Write key-file=PATH instead and give agents the public key that `t2u-server --print-public-key` prints "
                + "(their svrkey)"
        }
    }
}
