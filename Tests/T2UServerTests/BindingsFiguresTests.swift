// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Crypto
import Foundation
import Logging
import T2UCore
import Testing

@testable import T2UServer

/// Costs of the binding decisions and of the bindings file, printed for the notes (debug builds
/// are several times slower than release). Asserts only generous bounds.
@Suite struct BindingsFiguresTests {
    @Test func admitAndLoadCosts() throws {
        let server = StaticIdentity.generate(SeededEntropy(seed: 1))
        let count = 20_000
        let keys = (0..<count).map { i in
            [UInt8](repeating: UInt8(truncatingIfNeeded: i), count: 31) + [UInt8(truncatingIfNeeded: i >> 8)]
        }
        let bindings = PersistentDeviceBindings()
        let clock = ContinuousClock()
        let created = clock.measure {
            for i in 0..<count {
                _ = bindings.admit(
                    DeviceRegistration(uuid: "dev-\(i)", publicKey: keys[i], cookie: []), server: server, now: .zero)
            }
        }
        let again = clock.measure {
            for i in 0..<count {
                _ = bindings.admit(
                    DeviceRegistration(uuid: "dev-\(i)", publicKey: keys[i], cookie: []), server: server, now: .zero)
            }
        }
        #expect(bindings.counters.created == UInt64(count))

        let ca = try Curve25519.Signing.PrivateKey(rawRepresentation: [UInt8](repeating: 3, count: 32))
        let old = StaticIdentity.generate(SeededEntropy(seed: 2))
        let new = StaticIdentity.generate(SeededEntropy(seed: 3))
        let trusted = [Array(ca.publicKey.rawRepresentation)]
        let certificate = try DeviceCertificate.issue(ca: ca, uuid: "cam", deviceKey: new.publicKey)
        let proofs = 200
        // A first registration under closed enrollment (later ones of the same key skip it).
        let certified = try clock.measure {
            for _ in 0..<proofs { try certificate.verify(uuid: "cam", deviceKey: new.publicKey, trustedCAs: trusted) }
        }
        let rotating = PersistentDeviceBindings(loaded: [DeviceBinding(uuid: "cam", publicKey: old.publicKey)])
        let cookie = [UInt8](repeating: 1, count: 20)
        let proof = KeyRotationProof.make(
            old: old, serverPublicKey: server.publicKey, uuid: "cam", newPublicKey: new.publicKey, cookie: cookie)!
        let refusedRotations = clock.measure {
            for _ in 0..<proofs {
                // A wrong proof: verified (one X25519) and refused, the binding stays.
                _ = rotating.admit(
                    DeviceRegistration(
                        uuid: "cam", publicKey: new.publicKey,
                        rotation: KeyRotation(oldPublicKey: old.publicKey, proof: proof.reversed()), cookie: cookie),
                    server: server, now: .zero)
            }
        }
        #expect(rotating.counters.refusedConflict == UInt64(proofs))

        let path = FileManager.default.temporaryDirectory.appendingPathComponent("t2u-figures-\(UUID().uuidString)")
            .path
        defer { unlink(path) }
        try BindingsFile.rewrite(path: path, bindings: bindings.all)
        var loaded: [DeviceBinding] = []
        let load = try clock.measure { loaded = try BindingsFile.load(path: path) }
        #expect(loaded.count == count)

        func perSecond(_ n: Int, _ d: Duration) -> Int {
            Int(Double(n) / (Double(d.components.attoseconds) / 1e18 + Double(d.components.seconds)))
        }
        print(
            """
            bindings figures (debug build): admit new \(perSecond(count, created))/s, admit bound key \(perSecond(count, again))/s, \
            certificate verify (Ed25519, first registration) \(perSecond(proofs, certified))/s, refused rotation (X25519 + HMAC) \
            \(perSecond(proofs, refusedRotations))/s, bindings file load \(count) lines in \(load)
            """)
    }
}
