// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Foundation
import Logging
import NIOPosix
import T2UCore
import T2UNIO
import Testing

@testable import T2UServer

/// Flags > environment > file > defaults, each source strict, and reload through the same path.
@Suite struct ServerConfigSourcesTests {
    /// A config file with `text` in a fresh directory; returns its path.
    static func file(_ text: String) -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("t2u-config-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent("server.conf").path
        rewrite(path, text)
        return path
    }

    static func rewrite(_ path: String, _ text: String) {
        precondition(FileManager.default.createFile(atPath: path, contents: Data(text.utf8)), "cannot write \(path)")
    }

    /// The one-line message of a refused configuration, nil when it loads.
    static func refusal(_ sources: ServerConfigSources) -> String? {
        do {
            _ = try sources.load()
            return nil
        } catch {
            return error.description
        }
    }

    @Test func precedenceIsFlagsThenEnvironmentThenFileThenDefaults() throws {
        let path = Self.file("relay-rate = 1000\nsignaling-rate = 5\nserver-id = from-file\n")
        let env = ["T2U_SERVER_RELAY_RATE": "2000", "T2U_SERVER_SERVER_ID": "from-env"]
        let all = try ServerConfigSources(flags: ["relay-rate": "3000"], environment: env, filePath: path).load()
        #expect(all.limits.relayBytesPerSecond == 3000)
        #expect(all["server-id"] == "from-env")
        #expect(all.limits.signalingPerSecond == 5)
        let noFlag = try ServerConfigSources(environment: env, filePath: path).load()
        #expect(noFlag.limits.relayBytesPerSecond == 2000)
        let fileOnly = try ServerConfigSources(filePath: path).load()
        #expect(fileOnly.limits.relayBytesPerSecond == 1000)
        #expect(fileOnly["server-id"] == "from-file")
        let none = try ServerConfigSources().load()
        #expect(none.limits == ServerLimits.defaults)
        #expect(none.values.isEmpty)
        #expect(none.logLevel == .info)
    }

    @Test func settingsBecomeTheServersConfig() throws {
        let settings = try ServerConfigSources(
            flags: ["port": "0", "relay": "false"],
            environment: ["T2U_SERVER_SIGNALING_RATE": "100", "T2U_SERVER_KEEPALIVE": "15", "PATH": "/bin"],
            filePath: Self.file("observation-port = 7101\nadmin = 9100\n")
        ).load()
        let (config, options) = try settings.serverSetup(identity: nil)
        #expect(options.port == 0 && options.observationPort == 7101 && options.admin?.port == 9100)
        #expect(config.relayAllowed == false && config.keepaliveSeconds == 15)
        #expect(config.signalingPerSecond == 100 && config.channelPerSecond == 100)
    }

    @Test func unknownAndInvalidFileKeysNameFileLineAndFix() {
        let unknown = Self.file("port = 7000\nrelay_rate = 5\n")
        #expect(
            Self.refusal(ServerConfigSources(filePath: unknown))
                == "\(unknown):2: unknown key 'relay_rate'; did you mean relay-rate?")
        let invalid = Self.file("# limits\n\nrelay-rate = fast\n")
        #expect(
            Self.refusal(ServerConfigSources(filePath: invalid))
                == "\(invalid):3: invalid relay-rate 'fast'; write a number >= 1 (not NaN or infinite), e.g. relay-rate = 20"
        )
        #expect(
            Self.refusal(ServerConfigSources(filePath: "/nonexistent/t2u.conf"))?.hasPrefix(
                "cannot read config file /nonexistent/t2u.conf: ") == true)
    }

    @Test func environmentIsStrictUnderItsPrefix() {
        let misspelt = ServerConfigSources(environment: ["T2U_SERVER_RELAY_RAT": "5"])
        #expect(
            Self.refusal(misspelt)
                == "environment variable T2U_SERVER_RELAY_RAT is not a server setting; did you mean T2U_SERVER_RELAY_RATE? (or unset it)"
        )
        let invalid = ServerConfigSources(environment: ["T2U_SERVER_PORT": "70000"])
        #expect(
            Self.refusal(invalid)
                == "invalid environment variable T2U_SERVER_PORT '70000'; write a port number 1-65535, e.g. T2U_SERVER_PORT=7000"
        )
        // The database URL holds a password: never echoed.
        let database = ServerConfigSources(environment: ["T2U_SERVER_DATABASE": "mysql://u:secret@h/db"])
        #expect(Self.refusal(database)?.contains("secret") == false)
        // The agents' T2U_SERVER_KEY and other programs' variables are not the server's.
        #expect(Self.refusal(ServerConfigSources(environment: ["T2U_SERVER_KEY": "ab", "HOME": "/root"])) == nil)
    }

    @Test func flagsAreCheckedWithTheSameRules() {
        #expect(
            Self.refusal(ServerConfigSources(flags: ["relay-rate": "-1"]))
                == "invalid --relay-rate '-1'; write a number >= 1 (not NaN or infinite), e.g. --relay-rate 20")
        #expect(Self.refusal(ServerConfigSources(flags: ["signaling-rate": "nan"])) != nil)
        #expect(Self.refusal(ServerConfigSources(flags: ["port": "0", "observation-port": "0"])) == nil)
        #expect(
            Self.refusal(ServerConfigSources(flags: ["port": "65536"]))?.hasPrefix("invalid --port '65536'") == true)
    }

    @Test func reloadPlanSaysWhatChangedAndWhatNeedsARestart() {
        let old = ServerSettings(values: ["port": "7000"])
        let new = ServerSettings(values: ["port": "7001", "relay-rate": "50000000", "log-level": "debug"])
        let plan = ServerReloadPlan(from: old, to: new, oldToken: nil, newToken: nil)
        #expect(
            plan.summary
                == "reload: log-level info -> debug; relay-rate 125000000 -> 50000000; unchanged: admin-token-file, device-ca, relay, signaling-burst, signaling-rate"
        )
        #expect(plan.restartSummary == "reload: needs a restart, running values kept: port 7000 -> 7001")
        #expect(plan.limits.relayBytesPerSecond == 50_000_000 && plan.logLevel == .debug)
        let same = ServerReloadPlan(from: old, to: old, oldToken: nil, newToken: nil)
        #expect(same.summary.hasPrefix("reload: nothing changed; unchanged: ") && same.restartSummary == nil)
        let database = ServerReloadPlan(
            from: old, to: ServerSettings(values: ["port": "7000", "database": "postgres://u:pw@h/db"]),
            oldToken: nil, newToken: nil)
        #expect(
            database.restartSummary == "reload: needs a restart, running values kept: database (default) -> (secret)")
        // The admin token file rewritten in place: the same name, a new token.
        let tokenFile = ServerSettings(values: ["admin-token-file": "/etc/t2u/admin.token"])
        let rotated = ServerReloadPlan(
            from: tokenFile, to: tokenFile, oldToken: Array(repeating: 1, count: 16),
            newToken: Array(repeating: 2, count: 16))
        #expect(
            rotated.changed.map(\.description) == [
                "admin-token-file /etc/t2u/admin.token -> /etc/t2u/admin.token (new token)"
            ])
        #expect(rotated.adminToken == Array(repeating: 2, count: 16))
        let kept = ServerReloadPlan(
            from: tokenFile, to: tokenFile, oldToken: Array(repeating: 1, count: 16),
            newToken: Array(repeating: 1, count: 16))
        #expect(kept.changed.isEmpty && kept.unchanged.contains("admin-token-file"))
    }

    /// The reload path of SIGHUP, in process: a changed file takes effect on the running server,
    /// a broken one keeps what runs.
    @Test func reloadAppliesLimitsAndKeepsTheOldOnAnError() async throws {
        let path = Self.file("relay-rate = 125000000\nsignaling-rate = 20\n")
        let sources = ServerConfigSources(flags: ["port": "0", "bind": "127.0.0.1"], filePath: path)
        let settings = try sources.load()
        let (config, options) = try settings.serverSetup(identity: nil)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let runner = ServerRunner(config: config, options: options, logger: Logger(label: "test"), group: group)
        let reloader = ServerConfigReloader(
            sources: sources, settings: settings, adminToken: nil, runner: runner)
        // A SIGHUP before the server serves changes nothing (and does not stop it).
        #expect((try? await reloader.reload().get()) == nil)
        try await runner.start()

        Self.rewrite(path, "relay-rate = 50000000\nsignaling-rate = 10\nkeepalive = 25\n")
        let plan = try await reloader.reload().get()
        #expect(plan.changed.map(\.key) == ["relay-rate", "signaling-rate"])
        #expect(plan.needsRestart.map(\.key) == ["keepalive"])
        var status = try await runner.status()
        #expect(status.limits.relayBytesPerSecond == 50_000_000 && status.limits.signalingPerSecond == 10)
        #expect(status.json().contains("\"relay_bytes_per_second\":50000000.0"))

        Self.rewrite(path, "relay-rate = slow\n")
        // What SIGHUP logs (HangupReloadService): one error naming the file, nothing applied.
        let refused = await reloader.reloadOutcome()
        #expect(refused.summary == nil && refused.warnings.isEmpty && refused.errors.count == 1)
        #expect(refused.errors.first?.hasPrefix("reload failed, the running configuration stays: \(path):1:") == true)
        status = try await runner.status()
        #expect(status.limits.relayBytesPerSecond == 50_000_000)

        // The keepalive change was not applied, so it is reported again, not taken as the new normal.
        // A vendor CA added: closed enrollment from now on.
        let ca = String(repeating: "ab", count: 32)
        Self.rewrite(path, "relay-rate = 50000000\nsignaling-rate = 10\nkeepalive = 25\ndevice-ca = \(ca)\n")
        let again = try await reloader.reload().get()
        #expect(
            again.changed.map(\.description) == ["device-ca (none) -> \(ca)"]
                && again.needsRestart.map(\.key) == ["keepalive"])
        #expect(try await runner.withBindings { $0.deviceCAs } == [[UInt8](repeating: 0xAB, count: 32)])
        try await runner.shutdown()
        try await group.shutdownGracefully()
    }
}
