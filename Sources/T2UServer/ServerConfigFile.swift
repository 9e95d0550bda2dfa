/// `key=value` lines (blank lines and `#` comments ignored) for `t2u-server --config FILE`.
/// Keys: port, observation-port, bind, key, log-level, server-id, keepalive, relay (true/false),
/// relay-rate (bytes/s), presence-timeout (s), database (postgres:// URL), advertise (host:port),
/// admin, admin-allow-remote, signaling-rate, signaling-burst, max-tracked-sources.
public struct ServerConfigFile: Equatable, Sendable {
    public var values: [String: String] = [:]

    public enum ParseError: Error, Equatable, Sendable {
        case missingEquals(line: Int)
        case unknownKey(String, line: Int)
    }

    public static let knownKeys: Set<String> = [
        "port", "observation-port", "bind", "key", "log-level", "server-id", "keepalive", "relay", "relay-rate", "presence-timeout",
        "database", "advertise",
        "admin", "admin-allow-remote", "signaling-rate", "signaling-burst", "max-tracked-sources",
        "bindings-file", "cluster-key-file", "device-ca", "admin-token-file",
    ]

    public init(values: [String: String] = [:]) { self.values = values }

    public init(parsing text: String) throws(ParseError) {
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.trimmingWhitespace()
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let equals = line.firstIndex(of: "=") else { throw .missingEquals(line: index + 1) }
            let key = String(line[..<equals]).trimmingWhitespace()
            let value = String(line[line.index(after: equals)...]).trimmingWhitespace()
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
