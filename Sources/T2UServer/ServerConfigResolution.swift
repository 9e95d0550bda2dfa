// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Logging
import T2UCore
import T2UNIO

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// From settings (already checked key by key) to what the server runs with. Used at start and
/// on reload, so both read every key the same way.
extension ServerSettings {
    package var logLevel: Logger.Level { self["log-level"].flatMap(Logger.Level.init(rawValue:)) ?? .info }

    package var limits: ServerLimits {
        var limits = ServerLimits.defaults
        if let value = boolean("relay") { limits.relayAllowed = value }
        if let rate = number("relay-rate") { limits.relayBytesPerSecond = rate }
        if let rate = number("signaling-rate") { limits.signalingPerSecond = rate }
        if let burst = number("signaling-burst") { limits.signalingBurst = burst }
        return limits
    }

    /// The server's key pair from `key-file` (created 0600 if missing); nil without one.
    package func identity() throws(StartupError) -> StaticIdentity? {
        guard let path = self["key-file"] else { return nil }
        do {
            return try KeyFile.loadOrCreate(path: path, what: "server key file", entropy: SystemEntropy())
        } catch {
            throw StartupError("\(error)")
        }
    }

    /// The bearer token of `POST /bindings/release` from `admin-token-file`; nil without one.
    package func adminToken() throws(StartupError) -> [UInt8]? {
        guard let path = self["admin-token-file"] else { return nil }
        let token: [UInt8]
        do {
            token = try KeyFile.readSecret(path: path, what: "admin token file")
        } catch {
            throw StartupError("\(error)")
        }
        guard token.count >= 16 else {
            throw StartupError(
                "admin token file \(path) holds \(token.count) bytes; use 16 or more (head -c 32 /dev/urandom | xxd -p -c 64)"
            )
        }
        return token
    }

    /// Vendor CA public keys from `device-ca` (closed enrollment); empty without.
    package func deviceCAs() throws(StartupError) -> [[UInt8]] {
        guard let text = self["device-ca"] else { return [] }
        let keys = try text.split(separator: ",").map { (hex) throws(StartupError) -> [UInt8] in
            guard hex.utf8.count == 64, let key = Hex.decode(Array(hex.utf8)) else {
                throw StartupError(
                    "device-ca: '\(hex)' is not a CA public key (64 hex digits, as `t2u cert keygen` prints)")
            }
            return key
        }
        guard !keys.isEmpty else { throw StartupError("device-ca names no key") }
        return keys
    }

    /// Everything a start needs; `identity` from `identity()` (a fresh key when nil).
    package func serverSetup(
        identity: StaticIdentity?
    ) throws(StartupError) -> (config: ServerConfig, options: ServerRunner.Options) {
        var config = identity.map { ServerConfig(identity: $0) } ?? ServerConfig()
        if let id = self["server-id"] { config.serverID = id }
        if let seconds = integer("keepalive") { config.keepaliveSeconds = UInt16(seconds) }
        if let seconds = integer("presence-timeout") { config.presenceTimeout = .seconds(Int64(seconds)) }
        config.limits = limits
        if let sources = integer("max-tracked-sources") { config.maxTrackedSources = sources }

        var options = ServerRunner.Options()
        if let text = self["admin"] {
            do {
                options.admin = try AdminAddress.parse(text, allowRemote: boolean("admin-allow-remote") ?? false)
            } catch {
                throw StartupError("\(error)")
            }
        }
        options.bindHost = self["bind"] ?? ServerListeners.defaultHosts
        if let port = integer("port") { options.port = port }
        options.observationPort = integer("observation-port")
        options.tcpPort = integer("tcp-port")
        if let url = self["database"] {
            do {
                options.database = PostgresSync.Options(url: try PostgresURL(url), clusterKey: try clusterKey())
            } catch let error as StartupError {
                throw error
            } catch {
                throw StartupError("--database: \(error)")
            }
            if self["server-id"] == nil { config.serverID = "\(hostName()):\(options.port)" }
        }
        options.bindingsFile = self["bindings-file"]
        options.deviceCAs = try deviceCAs()
        options.adminToken = try adminToken()
        if let text = self["advertise"] {
            // Checked as a socket address already (ServerConfigFile.schema).
            config.advertiseAddress = ServerAddressList.literal(text)
        }
        return (config, options)
    }

    /// The cluster key, required with a database.
    private func clusterKey() throws(StartupError) -> ClusterKey {
        guard let path = self["cluster-key-file"] else {
            throw StartupError(
                """
                --database needs --cluster-key-file FILE (the same secret on every server): make one with \
                `head -c 32 /dev/urandom | xxd -p -c 64 > FILE; chmod 600 FILE`
                """)
        }
        do {
            return try ClusterKey(secret: KeyFile.readSecret(path: path, what: "cluster key file"))
        } catch let error as KeyFileError {
            throw StartupError("\(error)")
        } catch {
            throw StartupError("cluster key file \(path): \(error)")
        }
    }
}

private func hostName() -> String {
    var buffer = [CChar](repeating: 0, count: 256)
    guard gethostname(&buffer, buffer.count - 1) == 0 else { return "t2u" }
    return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
