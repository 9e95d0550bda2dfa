// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Logging
import NIOCore
import T2UNIO

/// What a reload changes, from the settings in effect and the settings just read. Pure: the
/// reloader applies it, and `summary` is what the reload logs.
public struct ServerReloadPlan: Sendable, Equatable {
    /// Keys a running server takes over (SIGHUP); every other key needs a restart. `key-file`
    /// is not among them: agents pin the server's public key, and the server has no second key
    /// to overlap with, so a new key means a restart and a new svrkey on every agent.
    public static let reloadableKeys: [String] = [
        "admin-token-file", "device-ca", "log-level", "relay", "relay-rate", "signaling-burst", "signaling-rate",
    ]

    public struct Change: Sendable, Equatable, CustomStringConvertible {
        public var key: String
        public var old: String
        public var new: String
        public var description: String { "\(key) \(old) -> \(new)" }
    }

    public var changed: [Change] = []
    /// Reloadable keys whose value stays.
    public var unchanged: [String] = []
    /// Changed keys that only a restart applies; the running values stay.
    public var needsRestart: [Change] = []
    public var limits: ServerLimits
    public var logLevel: Logger.Level
    public var adminToken: [UInt8]?
    public var deviceCAs: [[UInt8]]

    /// `oldToken`, `newToken`: the admin token in effect and the one the new settings name (read
    /// from its file, which may have been rewritten in place).
    /// `deviceCAs`: the new settings' vendor CAs (`new.deviceCAs()`, checked by the caller).
    public init(
        from old: ServerSettings, to new: ServerSettings, oldToken: [UInt8]?, newToken: [UInt8]?,
        deviceCAs: [[UInt8]] = []
    ) {
        self.deviceCAs = deviceCAs
        limits = new.limits
        logLevel = new.logLevel
        adminToken = newToken
        let oldLimits = old.limits
        let effective: [(String, String, String)] = [
            ("log-level", "\(old.logLevel)", "\(new.logLevel)"),
            ("relay", "\(oldLimits.relayAllowed)", "\(limits.relayAllowed)"),
            ("relay-rate", Self.number(oldLimits.relayBytesPerSecond), Self.number(limits.relayBytesPerSecond)),
            ("signaling-rate", Self.number(oldLimits.signalingPerSecond), Self.number(limits.signalingPerSecond)),
            ("signaling-burst", Self.number(oldLimits.signalingBurst), Self.number(limits.signalingBurst)),
            (
                "admin-token-file", Self.token(oldToken, path: old["admin-token-file"]),
                Self.token(newToken, path: new["admin-token-file"])
            ),
            ("device-ca", old["device-ca"] ?? "(none)", new["device-ca"] ?? "(none)"),
        ]
        for (key, before, after) in effective.sorted(by: { $0.0 < $1.0 }) {
            if before == after && (key != "admin-token-file" || oldToken == newToken) {
                unchanged.append(key)
            } else {
                // A token rewritten in place: same path, other bytes.
                let after = before == after ? after + " (new token)" : after
                changed.append(Change(key: key, old: before, new: after))
            }
        }
        for key in ServerConfigFile.schema.keys.sorted()
        where !Self.reloadableKeys.contains(key) && old[key] != new[key] {
            let shown = { (value: String?) in
                value.map { ServerConfigSources.isSecret(key) ? "(secret)" : $0 } ?? "(default)"
            }
            needsRestart.append(Change(key: key, old: shown(old[key]), new: shown(new[key])))
        }
    }

    /// The info line: "reload: relay-rate 125000000 -> 50000000; unchanged: log-level, relay, ...".
    public var summary: String {
        let changes = changed.isEmpty ? "nothing changed" : changed.map(\.description).joined(separator: "; ")
        return "reload: \(changes); unchanged: \(unchanged.isEmpty ? "-" : unchanged.joined(separator: ", "))"
    }

    /// The warning line for keys a restart would apply, nil when there are none.
    public var restartSummary: String? {
        guard !needsRestart.isEmpty else { return nil }
        return "reload: needs a restart, running values kept: "
            + needsRestart.map(\.description).joined(separator: "; ")
    }

    static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }

    static func token(_ token: [UInt8]?, path: String?) -> String {
        guard token != nil, let path else { return "(none)" }
        return path
    }
}

/// Re-reads the settings on request (SIGHUP) and applies what a running server can change.
/// A file that does not read or check keeps the settings in effect and logs why.
public actor ServerConfigReloader {
    private let sources: ServerConfigSources
    private let runner: ServerRunner
    private var current: ServerSettings
    private var currentToken: [UInt8]?

    public init(
        sources: ServerConfigSources, settings: ServerSettings, adminToken: [UInt8]?, runner: ServerRunner
    ) {
        self.sources = sources
        self.current = settings
        self.currentToken = adminToken
        self.runner = runner
    }

    /// Returns the plan it applied, or why the new settings were refused (the running ones stay).
    /// Logs nothing: `reloadOutcome()` is what `HangupReloadService` logs.
    public func reload() async -> Result<ServerReloadPlan, ServerReloadRefusal> {
        let plan: ServerReloadPlan
        let settings: ServerSettings
        do {
            settings = try sources.load()
            plan = ServerReloadPlan(
                from: current, to: settings, oldToken: currentToken, newToken: try settings.adminToken(),
                deviceCAs: try settings.deviceCAs())
        } catch {
            return .failure(ServerReloadRefusal("reload failed, the running configuration stays: \(error)"))
        }
        do {
            try await runner.apply(plan)
        } catch {
            // No driver: a SIGHUP while the server starts or stops.
            return .failure(
                ServerReloadRefusal(
                    "reload not applied: the server is not serving (starting or stopping); send SIGHUP again once it listens"
                ))
        }
        LogLevelControl.current = plan.logLevel
        // Keys that need a restart keep their running values; remember those, so the next
        // reload reports them again instead of as unchanged.
        var kept = settings
        for change in plan.needsRestart { kept.values[change.key] = current.values[change.key] }
        current = kept
        currentToken = plan.adminToken
        return .success(plan)
    }

    /// The reload of a SIGHUP: what changed at info, what needs a restart as a warning, a
    /// refusal as an error.
    public func reloadOutcome() async -> ReloadOutcome {
        switch await reload() {
        case .success(let plan): .applied(plan.summary, warnings: plan.restartSummary.map { [$0] } ?? [])
        case .failure(let refusal): .refused(refusal.description)
        }
    }
}

/// Why a reload kept the running configuration.
public struct ServerReloadRefusal: Error, Sendable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

extension ServerRunner {
    /// Applies a reload's limits, admin token and vendor CAs on the core's event loop.
    func apply(_ plan: ServerReloadPlan) async throws {
        guard let driver else { throw ChannelError.ioOnClosedChannel }
        try await driver.submit { driver in
            driver.core.apply(plan.limits, now: MonotonicClock.now())
            driver.adminToken = plan.adminToken
            if let bindings = driver.bindings, bindings.deviceCAs != plan.deviceCAs {
                bindings.replaceDeviceCAs(plan.deviceCAs)
            }
        }.get()
    }
}
