// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import T2UNIO

/// What a reload of `t2usvr` (SIGHUP) changes, from the running password and certificate and
/// what their files hold now. Pure: `DeviceReloader` reads the files and applies it. A file that
/// no longer reads or checks is refused and its running value kept (fail closed: a broken
/// password file never leaves the device without a password).
public struct DeviceReloadPlan: Sendable, Equatable {
    /// What a reload found in one file.
    public enum Read<Value: Sendable & Equatable>: Sendable, Equatable {
        /// The value did not come from a file at start (a flag, the environment, none): kept.
        case notAFile
        case read(Value)
        /// Why the file is refused, and what to do.
        case failed(String)
    }

    /// What happens to one running value.
    public enum Change<Value: Sendable & Equatable>: Sendable, Equatable {
        case notAFile
        case unchanged
        case changed(Value)
        case refused(String)

        init(running: Value?, now: Read<Value>) {
            switch now {
            case .notAFile: self = .notAFile
            case .read(let value): self = value == running ? .unchanged : .changed(value)
            case .failed(let reason): self = .refused(reason)
            }
        }
    }

    public let password: Change<String>
    public let certificate: Change<[UInt8]>

    public init(password: String?, newPassword: Read<String>, certificate: [UInt8]?, newCertificate: Read<[UInt8]>) {
        self.password = Change(running: password, now: newPassword)
        self.certificate = Change(running: certificate, now: newCertificate)
    }

    /// The log lines: what changed and stayed at info, each refused file as an error.
    public var outcome: ReloadOutcome {
        var changed: [String] = []
        var unchanged: [String] = []
        var errors: [String] = []
        switch password {
        case .notAFile: break
        case .unchanged: unchanged.append("password")
        case .changed: changed.append("password changed (new sessions need the new one; open sessions keep going)")
        case .refused(let reason):
            errors.append(
                "reload: --password-file refused, the running password stays: \(reason); send SIGHUP again once fixed")
        }
        switch certificate {
        case .notAFile: break
        case .unchanged: unchanged.append("certificate")
        case .changed: changed.append("certificate changed (sent at the next registration)")
        case .refused(let reason):
            errors.append(
                "reload: --cert refused, the running certificate stays: \(reason); send SIGHUP again once fixed")
        }
        let summary: String?
        if changed.isEmpty && unchanged.isEmpty {
            // Nothing read: either every file was refused (the errors say so) or none is watched.
            summary =
                errors.isEmpty
                ? "reload: nothing to re-read (only --password-file and --cert are reloaded; this agent was started with neither)"
                : nil
        } else {
            summary =
                "reload: "
                + (changed.isEmpty ? "nothing changed" : changed.joined(separator: "; "))
                + "; unchanged: \(unchanged.isEmpty ? "-" : unchanged.joined(separator: ", "))"
        }
        return ReloadOutcome(summary: summary, errors: errors)
    }
}
