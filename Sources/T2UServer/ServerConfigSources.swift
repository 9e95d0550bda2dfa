// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Configuration
import T2UNIO

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Where `t2u-server` takes its settings from, in this order: command-line flags, then
/// environment variables `T2U_SERVER_<KEY>` (`relay-rate` -> `T2U_SERVER_RELAY_RATE`), then the
/// `--config` file (key = value lines, `ServerConfigFile`), then the defaults. Merged by a
/// swift-configuration `ConfigReader` over three providers: an `InMemoryProvider` of the flags,
/// swift-configuration's `EnvironmentVariablesProvider`, and an `InMemoryProvider` of the file
/// as the strict key = value parser read it (that parser knows the line of every value, which
/// swift-configuration's file providers, for JSON and YAML, cannot report).
///
/// Every source is read strictly, with the same schema (`ServerConfigFile.schema`): an unknown
/// key or an invalid value names the flag, the variable or the file and line, and what to write.
public struct ServerConfigSources: Sendable {
    public static let environmentPrefix = "T2U_SERVER_"
    /// Variables with the server's prefix that belong to the agents (`t2usvr` and `t2u` read the
    /// server's public key from T2U_SERVER_KEY): not server settings, so not refused.
    static let agentVariables: Set<String> = ["T2U_SERVER_KEY"]
    /// Config files larger than this are refused (a real one is a few hundred bytes).
    static let fileLimit = 1 << 20

    /// Config key -> value as given on the command line (`--relay-rate 5e6` -> "relay-rate": "5e6").
    public var flags: [String: String]
    public var environment: [String: String]
    public var filePath: String?

    public init(flags: [String: String] = [:], environment: [String: String] = [:], filePath: String? = nil) {
        self.flags = flags
        self.environment = environment
        self.filePath = filePath
    }

    /// The environment variable of a config key.
    public static func variable(for key: String) -> String {
        environmentPrefix + key.uppercased().replacing("-", with: "_")
    }

    /// Reads the file (again: SIGHUP reloads through here), checks every source and merges them.
    public func load() throws(StartupError) -> ServerSettings {
        let file = try filePath.map(Self.readFile) ?? ServerConfigFile()
        try checkFlags()
        let environment = try checkedEnvironment()
        var flagValues: [AbsoluteConfigKey: ConfigValue] = [:]
        for (key, value) in flags {
            flagValues[AbsoluteConfigKey([key])] = ConfigValue(.string(value), isSecret: Self.isSecret(key))
        }
        var fileValues: [AbsoluteConfigKey: ConfigValue] = [:]
        for (key, entry) in file.entries {
            fileValues[AbsoluteConfigKey([key])] = ConfigValue(.string(entry.text), isSecret: Self.isSecret(key))
        }
        let secrets = Set(ServerConfigFile.schema.keys.filter(Self.isSecret).map(Self.variable))
        let reader = ConfigReader(providers: [
            InMemoryProvider(name: "flags", values: flagValues),
            EnvironmentVariablesProvider(environmentVariables: environment, secretsSpecifier: .specific(secrets))
                .prefixKeys(with: ConfigKey(["t2u", "server"])),
            InMemoryProvider(name: filePath.map { "file \($0)" } ?? "no file", values: fileValues),
        ])
        var values: [String: String] = [:]
        for key in ServerConfigFile.schema.keys {
            if let value = reader.string(forKey: ConfigKey([key])) { values[key] = value }
        }
        return ServerSettings(values: values)
    }

    /// The database URL holds a password.
    static func isSecret(_ key: String) -> Bool { key == "database" }

    /// Flags with the file's rules, except that ports may be 0 (the OS picks one: tests).
    private func checkFlags() throws(StartupError) {
        for (key, value) in flags.sorted(by: { $0.key < $1.key }) {
            guard let kind = ServerConfigFile.schema[key] else {
                throw StartupError("--\(key) is not a server setting")
            }
            if kind == .port && value == "0" { continue }
            guard kind.accepts(value) else {
                throw StartupError(
                    "invalid --\(key) '\(ServerConfigFileError.excerpt(value))'; write \(kind.expectation(key: key, style: .flag))"
                )
            }
        }
    }

    /// The server's variables, each known and valid. Variables without the prefix are not ours.
    private func checkedEnvironment() throws(StartupError) -> [String: String] {
        let keyByVariable = Dictionary(
            uniqueKeysWithValues: ServerConfigFile.schema.keys.map { (Self.variable(for: $0), $0) })
        var ours: [String: String] = [:]
        for (name, value) in environment.sorted(by: { $0.key < $1.key })
        where name.hasPrefix(Self.environmentPrefix) && !Self.agentVariables.contains(name) {
            guard let key = keyByVariable[name] else {
                let asKey = String(name.dropFirst(Self.environmentPrefix.count)).lowercased().replacing("_", with: "-")
                let hint =
                    ServerConfigFile.closestKey(to: asKey).map { "did you mean \(Self.variable(for: $0))?" }
                    ?? "the server's variables are \(keyByVariable.keys.sorted().joined(separator: ", "))"
                throw StartupError("environment variable \(name) is not a server setting; \(hint) (or unset it)")
            }
            guard let kind = ServerConfigFile.schema[key], kind.accepts(value) else {
                let shown = Self.isSecret(key) ? "" : " '\(ServerConfigFileError.excerpt(value))'"
                let kind = ServerConfigFile.schema[key]!
                throw StartupError(
                    "invalid environment variable \(name)\(shown); write \(kind.expectation(key: key, style: .environment))"
                )
            }
            ours[name] = value
        }
        return ours
    }

    /// Reads and strictly parses `path`; any problem names the file (and line).
    static func readFile(_ path: String) throws(StartupError) -> ServerConfigFile {
        guard let file = fopen(path, "rb") else {
            throw StartupError(
                "cannot read config file \(path): \(String(cString: strerror(errno))); check the path and its permissions"
            )
        }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = fread(&chunk, 1, chunk.count, file)
            if n <= 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
            guard bytes.count <= fileLimit else {
                throw StartupError("config file \(path) is larger than \(fileLimit) bytes; is it the right file?")
            }
        }
        guard ferror(file) == 0 else { throw StartupError("cannot read config file \(path): read error") }
        do {
            return try ServerConfigFile(parsing: bytes, path: path)
        } catch {
            throw StartupError(error.description)
        }
    }
}

/// The settings in effect: every key that some source set, after precedence. Keys that are
/// absent take their defaults (`ServerConfig`, `ServerRunner.Options`).
public struct ServerSettings: Sendable, Equatable {
    public var values: [String: String]

    public init(values: [String: String] = [:]) { self.values = values }

    public subscript(key: String) -> String? { values[key] }
    public func integer(_ key: String) -> Int? { self[key].flatMap { Int($0) } }
    public func number(_ key: String) -> Double? { self[key].flatMap { Double($0) } }
    public func boolean(_ key: String) -> Bool? { self[key].flatMap { Bool($0) } }
}
