// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Logging
import T2UNIO

/// `key = value` lines for `t2u-server --config FILE`, parsed strictly: a setting that is not
/// understood stops the server instead of being dropped (a dropped `key` would run it open).
/// Lines end in LF or CRLF; blank lines and lines starting with `#` are ignored; spaces and
/// tabs around key and value are trimmed. An unknown key, a line without `=`, a key given twice
/// or a value of the wrong kind is a `ServerConfigFileError` naming the file, the line and
/// what to write instead.
public struct ServerConfigFile: Equatable, Sendable {
    /// What a key's value must be. Each kind validates the text and explains itself in errors.
    public enum Kind: Sendable, Equatable {
        /// 1...65535.
        case port
        /// A whole number in 1...max.
        case positiveInteger(max: Int)
        /// A finite number >= minimum (minimum > 0).
        case number(minimum: Double)
        /// `true` or `false`.
        case boolean
        /// Non-empty, no control characters.
        case text
        /// trace, debug, info, notice, warning, error, critical.
        case logLevel
        /// postgres://USER:PASSWORD@HOST:PORT/DB
        case databaseURL
        /// IP:PORT or [IPv6]:PORT, no name.
        case socketAddress
        /// PORT, HOST:PORT or [IPv6]:PORT (loopback is checked later, with admin-allow-remote).
        case adminAddress
    }

    /// Every key the server understands and what its value must be.
    public static let schema: [String: Kind] = [
        "port": .port,
        "observation-port": .port,
        "tcp-port": .port,
        "bind": .text,
        "key-file": .text,
        "log-level": .logLevel,
        "server-id": .text,
        "keepalive": .positiveInteger(max: 65535),
        "relay": .boolean,
        "relay-rate": .number(minimum: 1),
        "presence-timeout": .positiveInteger(max: 86_400 * 365),
        "database": .databaseURL,
        "advertise": .socketAddress,
        "admin": .adminAddress,
        "admin-allow-remote": .boolean,
        "signaling-rate": .number(minimum: 0.001),
        "signaling-burst": .number(minimum: 1),
        "max-tracked-sources": .positiveInteger(max: 100_000_000),
        "bindings-file": .text,
        "cluster-key-file": .text,
        "device-ca": .text,
        "admin-token-file": .text,
    ]

    /// A value as written (validated) and the line it came from.
    public struct Entry: Equatable, Sendable {
        public var text: String
        public var line: Int
    }

    public private(set) var entries: [String: Entry] = [:]

    /// An empty file: every setting at its default.
    public init() {}

    /// Parses the file's bytes; `path` names it in errors. Accepts a UTF-8 byte order mark.
    public init(parsing bytes: [UInt8], path: String) throws(ServerConfigFileError) {
        var body = bytes[...]
        if body.starts(with: [0xEF, 0xBB, 0xBF]) { body = body.dropFirst(3) }
        guard let text = String(validating: body, as: UTF8.self) else {
            throw ServerConfigFileError(path: path, line: 0, problem: .notUTF8)
        }
        // Split on unicode scalars: as Characters, "\r\n" is one grapheme and never equals "\n".
        var lineNumber = 0
        for rawLine in text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            var line = Substring(rawLine)
            if line.unicodeScalars.last == "\r" { line = Substring(line.unicodeScalars.dropLast()) }
            try parseLine(line.trimmingBlanks(), number: lineNumber, path: path)
        }
    }

    private mutating func parseLine(_ line: Substring, number: Int, path: String) throws(ServerConfigFileError) {
        func fail(_ problem: ServerConfigFileError.Problem) -> ServerConfigFileError {
            ServerConfigFileError(path: path, line: number, problem: problem)
        }
        if line.isEmpty || line.hasPrefix("#") { return }
        guard let equals = line.firstIndex(of: "=") else { throw fail(.missingEquals(String(line))) }
        let key = String(line[..<equals].trimmingBlanks())
        let value = String(line[line.index(after: equals)...].trimmingBlanks())
        if key == "key" { throw fail(.sharedKeyRemoved) }
        guard let kind = Self.schema[key] else {
            throw fail(.unknownKey(key, suggestion: Self.closestKey(to: key)))
        }
        if let first = entries[key] { throw fail(.duplicateKey(key, firstLine: first.line)) }
        guard kind.accepts(value) else { throw fail(.invalidValue(key: key, value: value, expected: kind)) }
        entries[key] = Entry(text: value, line: number)
    }

    /// The value of `key` as written, nil when absent.
    public subscript(key: String) -> String? { entries[key]?.text }

    public func integer(_ key: String) -> Int? { self[key].flatMap { Int($0) } }
    public func number(_ key: String) -> Double? { self[key].flatMap { Double($0) } }
    public func boolean(_ key: String) -> Bool? { self[key].flatMap { Bool($0) } }

    /// The known key nearest to a misspelt one (edit distance <= 3 after `_` -> `-`), if any.
    static func closestKey(to key: String) -> String? {
        let normalized = key.lowercased().replacing("_", with: "-")
        let ranked = schema.keys.map { ($0, editDistance(normalized, $0)) }.sorted { ($0.1, $0.0) < ($1.1, $1.0) }
        guard let best = ranked.first, best.1 <= 3, best.1 < normalized.count else { return nil }
        return best.0
    }

    /// Levenshtein distance over unicode scalars.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a.unicodeScalars)
        let b = Array(b.unicodeScalars)
        guard !a.isEmpty else { return b.count }
        guard !b.isEmpty else { return a.count }
        var previous = Array(0...b.count)
        var current = previous
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}

extension ServerConfigFile.Kind {
    func accepts(_ value: String) -> Bool {
        guard !value.isEmpty, !value.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
        else {
            return false
        }
        switch self {
        case .port:
            return Int(value).map { (1...65535).contains($0) } ?? false
        case .positiveInteger(let max):
            return Int(value).map { (1...max).contains($0) } ?? false
        case .number(let minimum):
            return Double(value).map { $0.isFinite && $0 >= minimum } ?? false
        case .boolean:
            return Bool(value) != nil
        case .text:
            return true
        case .logLevel:
            return Logger.Level(rawValue: value) != nil
        case .databaseURL:
            return (try? PostgresURL(value)) != nil
        case .socketAddress:
            return ServerAddressList.literal(value) != nil
        case .adminAddress:
            return (try? AdminAddress.parse(value, allowRemote: true)) != nil
        }
    }

    /// How an example is written: in the file, as a flag or as an environment variable.
    public enum ExampleStyle: Sendable {
        case file, flag, environment

        func example(_ key: String, _ value: String) -> String {
            switch self {
            case .file: "\(key) = \(value)"
            case .flag: "--\(key) \(value)"
            case .environment: "\(ServerConfigSources.variable(for: key))=\(value)"
            }
        }
    }

    /// What to write instead, with an example for `key`.
    func expectation(key: String, style: ExampleStyle = .file) -> String {
        switch self {
        case .port: "a port number 1-65535, e.g. \(style.example(key, "7000"))"
        case .positiveInteger(let max): "a whole number 1-\(max), e.g. \(style.example(key, "20"))"
        case .number(let minimum):
            "a number >= \(minimum == minimum.rounded() ? String(Int(minimum)) : String(minimum)) (not NaN or infinite), "
                + "e.g. \(style.example(key, String(Int(Swift.max(20, minimum)))))"
        case .boolean: "true or false, e.g. \(style.example(key, "false"))"
        case .text: "a non-empty value without control characters"
        case .logLevel: "one of trace, debug, info, notice, warning, error, critical"
        case .databaseURL: "postgres://USER:PASSWORD@HOST:PORT/DB[?sslmode=disable|prefer|require]"
        case .socketAddress: "IP:PORT or [IPv6]:PORT, e.g. \(style.example(key, "192.0.2.10:7000"))"
        case .adminAddress: "PORT, HOST:PORT or [IPv6]:PORT, e.g. \(style.example(key, "127.0.0.1:9100"))"
        }
    }
}

/// A config file line that cannot be used. `description` is one line: file, line, problem and
/// what to write instead.
public struct ServerConfigFileError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Problem: Equatable, Sendable {
        case notUTF8
        case missingEquals(String)
        case unknownKey(String, suggestion: String?)
        case duplicateKey(String, firstLine: Int)
        case invalidValue(key: String, value: String, expected: ServerConfigFile.Kind)
        /// The v1 shared secret `key`: v2 servers have a key pair instead.
        case sharedKeyRemoved
    }

    public var path: String
    /// 1-based; 0 for the file as a whole.
    public var line: Int
    public var problem: Problem

    public var description: String {
        let place = line > 0 ? "\(path):\(line)" : path
        switch problem {
        case .notUTF8:
            return "\(place): not UTF-8 text; save the file as UTF-8 (or ASCII)"
        case .missingEquals(let text):
            return
                "\(place): '\(Self.excerpt(text))' has no '='; write key = value, or start the line with # to make it a comment"
        case .unknownKey(let key, let suggestion):
            let hint =
                suggestion.map { "did you mean \($0)?" }
                ?? "known keys: \(ServerConfigFile.schema.keys.sorted().joined(separator: ", "))"
            return "\(place): unknown key '\(Self.excerpt(key))'; \(hint)"
        case .duplicateKey(let key, let firstLine):
            return "\(place): \(key) is already set on line \(firstLine); keep one of the two lines"
        case .invalidValue(let key, let value, let expected):
            var fix = "write \(expected.expectation(key: key))"
            if value.contains("#") { fix += " (comments go on their own line, starting with #)" }
            let shown = key == "database" ? "" : " '\(Self.excerpt(value))'"
            return "\(place): invalid \(key)\(shown); \(fix)"
        case .sharedKeyRemoved:
            return "\(place): `key` (a shared secret) is no longer supported: the server has a key pair; write "
                + "key-file = PATH instead and give agents the public key `t2u-server --print-public-key` prints (their svrkey)"
        }
    }

    /// Untrusted text for a one-line message: control characters escaped, at most 60 scalars.
    static func excerpt(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars.prefix(60) {
            out += scalar.properties.generalCategory == .control ? scalar.escaped(asASCII: true) : String(scalar)
        }
        return text.unicodeScalars.count > 60 ? out + "..." : out
    }
}

extension StringProtocol {
    /// Without leading and trailing spaces and tabs.
    func trimmingBlanks() -> Substring {
        var slice = Substring(self)
        while let first = slice.unicodeScalars.first, first == " " || first == "\t" {
            slice = Substring(slice.unicodeScalars.dropFirst())
        }
        while let last = slice.unicodeScalars.last, last == " " || last == "\t" {
            slice = Substring(slice.unicodeScalars.dropLast())
        }
        return slice
    }
}
