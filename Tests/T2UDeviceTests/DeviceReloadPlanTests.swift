// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import T2UDevice
import T2UNIO
import Testing

/// What a SIGHUP of t2usvr decides from the running values and the files as they are now.
@Suite struct DeviceReloadPlanTests {
    static let certA: [UInt8] = [1, 2, 3]
    static let certB: [UInt8] = [4, 5, 6]

    @Test func aChangedPasswordFileIsAppliedAndTheRestReportedUnchanged() {
        let plan = DeviceReloadPlan(
            password: "old", newPassword: .read("new"), certificate: Self.certA, newCertificate: .read(Self.certA))
        #expect(plan.password == .changed("new"))
        #expect(plan.certificate == .unchanged)
        #expect(
            plan.outcome
                == ReloadOutcome(
                    summary:
                        "reload: password changed (new sessions need the new one; open sessions keep going); unchanged: certificate"
                ))
    }

    @Test func aChangedCertificateIsSentAtTheNextRegistration() {
        let plan = DeviceReloadPlan(
            password: nil, newPassword: .notAFile, certificate: Self.certA, newCertificate: .read(Self.certB))
        #expect(plan.password == .notAFile && plan.certificate == .changed(Self.certB))
        #expect(plan.outcome.summary == "reload: certificate changed (sent at the next registration); unchanged: -")
        #expect(plan.outcome.errors.isEmpty)
    }

    /// Fail closed: a missing or broken password file never leaves the device without one.
    @Test func aBrokenFileIsRefusedAndTheRunningValueStays() {
        let plan = DeviceReloadPlan(
            password: "old", newPassword: .failed("cannot open password file /p: No such file or directory"),
            certificate: Self.certA, newCertificate: .read(Self.certA))
        #expect(plan.password == .refused("cannot open password file /p: No such file or directory"))
        #expect(plan.outcome.summary == "reload: nothing changed; unchanged: certificate")
        #expect(
            plan.outcome.errors == [
                "reload: --password-file refused, the running password stays: cannot open password file /p: No such file or directory; send SIGHUP again once fixed"
            ])
    }

    @Test func everyFileRefusedLogsOnlyErrors() {
        let plan = DeviceReloadPlan(
            password: "old", newPassword: .failed("p"), certificate: Self.certA, newCertificate: .failed("c"))
        #expect(plan.outcome.summary == nil)
        #expect(plan.outcome.errors.count == 2)
        #expect(plan.outcome.errors.last?.hasPrefix("reload: --cert refused, the running certificate stays: c") == true)
    }

    @Test func valuesNotFromFilesAreNotReloaded() {
        let plan = DeviceReloadPlan(
            password: "flag", newPassword: .notAFile, certificate: nil, newCertificate: .notAFile)
        #expect(plan.password == .notAFile && plan.certificate == .notAFile)
        #expect(plan.outcome.summary?.hasPrefix("reload: nothing to re-read") == true)
        #expect(plan.outcome.errors.isEmpty)
    }

    @Test func theSamePasswordIsUnchanged() {
        let plan = DeviceReloadPlan(
            password: "same", newPassword: .read("same"), certificate: nil, newCertificate: .notAFile)
        #expect(plan.password == .unchanged)
        #expect(plan.outcome.summary == "reload: nothing changed; unchanged: password")
    }
}
