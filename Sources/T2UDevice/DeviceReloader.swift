// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import T2UCore
import T2UNIO

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// `t2usvr` on SIGHUP: re-reads `--password-file` and `--cert`, applies what changed to the
/// running agent (`DeviceReloadPlan`) and keeps the running value of any file that no longer
/// reads or checks. Values that did not come from a file (`--password`, `T2U_PASSWORD`) stay.
public actor DeviceReloader {
    private let agent: DeviceAgent
    private let passwordFile: String?
    private let certificateFile: String?
    private var password: String?
    private var certificate: [UInt8]?

    /// `password` and `certificate`: the values the agent was started with; `passwordFile` and
    /// `certificateFile`: where they came from (nil: not from a file, not reloaded).
    public init(
        agent: DeviceAgent, passwordFile: String?, password: String?, certificateFile: String?, certificate: [UInt8]?
    ) {
        self.agent = agent
        self.passwordFile = passwordFile
        self.password = password
        self.certificateFile = certificateFile
        self.certificate = certificate
    }

    /// Reads the files, applies the changes and returns what to log (`HangupReloadService`).
    public func reload() async -> ReloadOutcome {
        let (oldPassword, oldCertificate) = (password, certificate)
        var newPassword = readPassword()
        var newCertificate = readCertificate()
        let plan = DeviceReloadPlan(
            password: oldPassword, newPassword: newPassword, certificate: oldCertificate, newCertificate: newCertificate
        )
        if case .changed(let value) = plan.password {
            do {
                try await agent.update(password: value)
                password = value
            } catch {
                newPassword = .failed("\(error)")
            }
        }
        if case .changed(let value) = plan.certificate {
            do {
                try await agent.update(certificate: value)
                certificate = value
            } catch {
                newCertificate = .failed("\(error)")
            }
        }
        // Planned again with what failed to apply as refused: the log says what really runs.
        return DeviceReloadPlan(
            password: oldPassword, newPassword: newPassword, certificate: oldCertificate,
            newCertificate: newCertificate
        ).outcome
    }

    private func readPassword() -> DeviceReloadPlan.Read<String> {
        guard let passwordFile else { return .notAFile }
        do {
            let secret = try CommandLineSecret.resolve(
                flag: nil, file: passwordFile, environmentVariable: "", what: "password file", environment: { _ in nil }
            )
            guard let secret else { return .failed("password file \(passwordFile) is empty") }
            return .read(secret.value)
        } catch {
            // KeyFileError's advice is about key files; a password file needs the password.
            switch error {
            case .corrupt(let path, let what, let problem):
                return .failed("\(what) \(path) holds no usable password (\(problem)); write the password into it")
            case .io(let path, let what, _, let code) where code == ENOENT:
                return .failed("\(what) \(path) does not exist; put the password back in it (mode 0600)")
            default:
                return .failed(error.description)
            }
        }
    }

    private func readCertificate() -> DeviceReloadPlan.Read<[UInt8]> {
        guard let certificateFile else { return .notAFile }
        do {
            return .read(
                try DeviceCertificateFile.load(path: certificateFile, uuid: agent.uuid, deviceKey: agent.publicKey)
                    .bytes)
        } catch {
            return .failed(error.description)
        }
    }
}
