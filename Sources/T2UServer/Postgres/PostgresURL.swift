// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Foundation
import PostgresNIO

/// `postgres://[user[:password]@]host[:port][/database][?sslmode=disable|prefer|require]`
/// (also `postgresql://`), as `t2u-server --database` takes it. Without sslmode: `prefer`.
public struct PostgresURL: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var user: String
    public var password: String?
    public var database: String?
    public var sslMode: String

    public enum Invalid: Error, Equatable, CustomStringConvertible {
        case notPostgres(String)
        case reason(String)
        public var description: String {
            switch self {
            case .notPostgres(let s):
                return
                    "'\(PostgresURL.redacted(s))' is not a postgres:// URL (postgres://user:password@host:port/database)"
            case .reason(let s): return s
            }
        }
    }

    public init(_ text: String) throws(Invalid) {
        guard let url = URLComponents(string: text), let scheme = url.scheme,
            scheme == "postgres" || scheme == "postgresql"
        else {
            throw .notPostgres(text)
        }
        guard let host = url.host, !host.isEmpty else { throw .reason("the database URL names no host") }
        self.host = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        self.port = url.port ?? 5432
        guard (1...65535).contains(port) else { throw .reason("database port must be 1...65535") }
        self.user = url.user ?? "postgres"
        self.password = url.password
        let path = url.path.hasPrefix("/") ? String(url.path.dropFirst()) : url.path
        self.database = path.isEmpty ? nil : path
        self.sslMode = url.queryItems?.first { $0.name == "sslmode" }?.value ?? "prefer"
        guard ["disable", "prefer", "require"].contains(sslMode) else {
            throw .reason("sslmode must be disable, prefer or require (got \(sslMode))")
        }
    }

    /// `text` with the password of a `scheme://user:password@host` part replaced by `***`:
    /// an error message must not print a credential back (into logs, terminals, CI output).
    public static func redacted(_ text: String) -> String {
        guard let schemeEnd = text.range(of: "://") else { return text }
        let rest = text[schemeEnd.upperBound...]
        let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) ?? rest.endIndex
        guard let at = rest[..<authorityEnd].lastIndex(of: "@") else { return text }
        let userInfo = rest[..<at]
        guard let colon = userInfo.firstIndex(of: ":") else { return text }
        return String(text[..<colon]) + ":***" + String(text[at...])
    }

    /// Without the password.
    public var description: String {
        "postgres://\(user)@\(host):\(port)/\(database ?? "")?sslmode=\(sslMode)"
    }

    func configuration() throws -> PostgresConnection.Configuration {
        let tls: PostgresConnection.Configuration.TLS
        switch sslMode {
        case "disable": tls = .disable
        case "require": tls = .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
        default: tls = .prefer(try NIOSSLContext(configuration: .makeClientConfiguration()))
        }
        var configuration = PostgresConnection.Configuration(
            host: host, port: port, username: user, password: password,
            database: database, tls: tls)
        configuration.options.connectTimeout = .seconds(5)
        return configuration
    }
}
