// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Crypto
import T2UCore
import T2UDevice
import T2UNIO
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// SIGHUP's reload in process: the files re-read, the running agent updated, broken files refused.
@Suite(.serialized) struct DeviceReloaderTests {
    /// Writes `text` to `path`, mode 0600 (as a password file must be).
    static func save(_ path: String, _ text: String) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        precondition(fd >= 0, "cannot write \(path)")
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
        chmod(path, 0o600)
    }

    @Test func aNewPasswordFileAppliesToNewSessionsOnlyAndABrokenOneIsRefused() async throws {
        let directory = try StateFileTests.temporaryDirectory()
        let passwordFile = directory + "/password"
        defer {
            unlink(passwordFile)
            rmdir(directory)
        }
        Self.save(passwordFile, "old\n")
        let harness = try await DeviceHarness()
        var options = harness.deviceOptions(uuid: "cam-reload")
        options.password = "old"
        let agent = try DeviceAgent(options: options)
        let reloader = DeviceReloader(
            agent: agent, passwordFile: passwordFile, password: "old", certificateFile: nil, certificate: nil)
        // Before the agent runs nothing is applied, and the log says why.
        Self.save(passwordFile, "new\n")
        let early = await reloader.reload()
        #expect(early.summary == nil)
        #expect(early.errors.first?.contains("the device agent is not running") == true)

        try await agent.start()
        #expect(await eventually { await agent.isRegistered() })
        let client = try await harness.client(seed: 31)
        let open = try await client.openTunnel(to: "cam-reload", password: "old")
        try await open.established.get()

        let outcome = await reloader.reload()
        #expect(outcome.summary?.hasPrefix("reload: password changed") == true)
        #expect(outcome.errors.isEmpty)
        let stale = try await client.openTunnel(to: "cam-reload", password: "old")
        #expect(try await stale.closed.get() == .passwordRejected)
        let fresh = try await client.openTunnel(to: "cam-reload", password: "new")
        try await fresh.established.get()
        // The session made under the old password goes on.
        #expect(await eventually { await agent.sessionCount() == 2 })

        // A missing file: refused, the new password stays in force (never none).
        unlink(passwordFile)
        let missing = await reloader.reload()
        #expect(missing.summary == nil)
        #expect(
            missing.errors == [
                "reload: --password-file refused, the running password stays: password file \(passwordFile) does not exist; put the password back in it (mode 0600); send SIGHUP again once fixed"
            ])
        // An empty one: refused as well.
        Self.save(passwordFile, "\n")
        #expect((await reloader.reload()).errors.first?.contains("holds no usable password (empty)") == true)
        let stillNew = try await client.openTunnel(to: "cam-reload", password: "new")
        try await stillNew.established.get()
        let none = try await client.openTunnel(to: "cam-reload", password: nil)
        #expect(try await none.closed.get() == .passwordRejected)

        try await open.close()
        await client.close()
        await agent.shutdown()
        try await harness.close()
    }

    @Test func aNewCertificateFileIsTakenAndOneForAnotherKeyRefused() async throws {
        let directory = try StateFileTests.temporaryDirectory()
        let certFile = directory + "/device.cert"
        defer {
            unlink(certFile)
            rmdir(directory)
        }
        let harness = try await DeviceHarness()
        let agent = try DeviceAgent(options: harness.deviceOptions(uuid: "cam-cert"))
        let first = try DeviceCertificate.issue(
            ca: Curve25519.Signing.PrivateKey(), uuid: "cam-cert", deviceKey: agent.publicKey)
        let second = try DeviceCertificate.issue(
            ca: Curve25519.Signing.PrivateKey(), uuid: "cam-cert", deviceKey: agent.publicKey)
        Self.save(certFile, first.fileText(uuid: "cam-cert", deviceKey: agent.publicKey))
        #expect(
            try DeviceCertificateFile.load(path: certFile, uuid: "cam-cert", deviceKey: agent.publicKey) == first)
        let reloader = DeviceReloader(
            agent: agent, passwordFile: nil, password: nil, certificateFile: certFile, certificate: first.bytes)
        try await agent.start()

        #expect(await reloader.reload() == ReloadOutcome(summary: "reload: nothing changed; unchanged: certificate"))
        Self.save(certFile, second.fileText(uuid: "cam-cert", deviceKey: agent.publicKey))
        #expect(
            await reloader.reload()
                == ReloadOutcome(
                    summary: "reload: certificate changed (sent at the next registration); unchanged: -"))
        // Issued for another device key: refused with what to do, the running certificate stays.
        let other = StaticIdentity.generate(SystemEntropy()).publicKey
        let foreign = try DeviceCertificate.issue(
            ca: Curve25519.Signing.PrivateKey(), uuid: "cam-cert", deviceKey: other)
        Self.save(certFile, foreign.fileText(uuid: "cam-cert", deviceKey: other))
        let refused = await reloader.reload()
        #expect(refused.summary == nil)
        #expect(refused.errors.first?.contains("does not certify UUID cam-cert with this device's key") == true)
        #expect(refused.errors.first?.contains("t2u cert issue --ca-key CA.key --uuid cam-cert") == true)
        // Back to the second: unchanged, so the refused one never replaced it.
        Self.save(certFile, second.fileText(uuid: "cam-cert", deviceKey: agent.publicKey))
        #expect(await reloader.reload() == ReloadOutcome(summary: "reload: nothing changed; unchanged: certificate"))

        await agent.shutdown()
        try await harness.close()
    }
}
