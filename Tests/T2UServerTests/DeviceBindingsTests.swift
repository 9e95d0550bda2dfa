// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Crypto
import T2UCore
import Testing

@testable import T2UServer

/// Every decision of `PersistentDeviceBindings.admit`, and the attacks it refuses
/// (CVE-2021-28372: a second agent registering a live device's UUID with its own key).
@Suite struct DeviceBindingsTests {
    static func identity(_ seed: UInt64) -> StaticIdentity { StaticIdentity.generate(SeededEntropy(seed: seed)) }
    static let server = identity(100)
    static let victim = identity(1)
    static let attacker = identity(2)
    static let successor = identity(3)
    static let cookie = [UInt8](repeating: 9, count: 20)
    static let vendor = try! Curve25519.Signing.PrivateKey(rawRepresentation: [UInt8](repeating: 5, count: 32))
    static let rogueCA = try! Curve25519.Signing.PrivateKey(rawRepresentation: [UInt8](repeating: 6, count: 32))
    static var vendorKey: [UInt8] { Array(vendor.publicKey.rawRepresentation) }

    static func cert(_ uuid: String, _ key: [UInt8], by ca: Curve25519.Signing.PrivateKey = vendor) -> [UInt8] {
        try! DeviceCertificate.issue(ca: ca, uuid: uuid, deviceKey: key).bytes
    }

    static func rotation(
        from old: StaticIdentity, to new: [UInt8], uuid: String = "CAM-1", cookie: [UInt8] = cookie
    ) -> KeyRotation {
        KeyRotation(
            oldPublicKey: old.publicKey,
            proof: KeyRotationProof.make(
                old: old, serverPublicKey: server.publicKey, uuid: uuid, newPublicKey: new, cookie: cookie)!)
    }

    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var closed = false
        /// Bound before the registration (nil: unbound).
        var bound: [UInt8]? = DeviceBindingsTests.victim.publicKey
        var registration: DeviceRegistration
        var decision: BindingDecision
        /// The key bound afterwards.
        var after: [UInt8]?
        var testDescription: String { name }
    }

    static let cases: [Case] = {
        let v = victim.publicKey
        let a = attacker.publicKey
        let s = successor.publicKey
        func reg(
            _ key: [UInt8], cert: [UInt8]? = nil, rotation: KeyRotation? = nil, uuid: String = "CAM-1"
        ) -> DeviceRegistration {
            DeviceRegistration(uuid: uuid, publicKey: key, certificate: cert, rotation: rotation, cookie: cookie)
        }
        return [
            Case(
                name: "unbound: bound (created)", bound: nil, registration: reg(v),
                decision: .accepted(created: true, rebound: false), after: v),
            Case(
                name: "same key: accepted", registration: reg(v), decision: .accepted(created: false, rebound: false),
                after: v),
            Case(
                name: "hijack: other key refused", registration: reg(a), decision: .refused(.identityConflict), after: v
            ),
            Case(
                name: "hijack with the victim's public key as 'old key' but its own proof",
                registration:
                    reg(a, rotation: KeyRotation(oldPublicKey: v, proof: rotation(from: attacker, to: a).proof)),
                decision: .refused(.identityConflict), after: v),
            Case(
                name: "rotation by the bound key: rebound",
                registration: reg(s, rotation: rotation(from: victim, to: s)),
                decision: .accepted(created: false, rebound: true), after: s),
            Case(
                name: "rotation proof for another new key refused",
                registration: reg(a, rotation: rotation(from: victim, to: s)),
                decision: .refused(.identityConflict), after: v),
            Case(
                name: "rotation proof with another cookie refused",
                registration:
                    reg(s, rotation: rotation(from: victim, to: s, cookie: [UInt8](repeating: 1, count: 20))),
                decision: .refused(.identityConflict), after: v),
            Case(
                name: "rotation proof for another UUID refused",
                registration: reg(s, rotation: rotation(from: victim, to: s, uuid: "CAM-2")),
                decision: .refused(.identityConflict), after: v),
            Case(
                name: "open enrollment: a certificate does not rebind", registration: reg(a, cert: cert("CAM-1", a)),
                decision: .refused(.identityConflict), after: v),
            Case(
                name: "closed: no certificate refused", closed: true, bound: nil, registration: reg(v),
                decision: .refused(.notEnrolled), after: nil),
            Case(
                name: "closed: valid certificate binds", closed: true, bound: nil,
                registration: reg(v, cert: cert("CAM-1", v)),
                decision: .accepted(created: true, rebound: false), after: v),
            Case(
                name: "closed: certificate of another CA refused", closed: true, bound: nil,
                registration: reg(v, cert: cert("CAM-1", v, by: rogueCA)), decision: .refused(.notEnrolled), after: nil),
            Case(
                name: "closed: certificate for another UUID refused", closed: true, bound: nil,
                registration: reg(v, cert: cert("CAM-2", v)), decision: .refused(.notEnrolled), after: nil),
            Case(
                name: "closed: certificate for another key refused", closed: true, bound: nil,
                registration: reg(a, cert: cert("CAM-1", v)), decision: .refused(.notEnrolled), after: nil),
            Case(
                name: "closed: truncated certificate refused", closed: true, bound: nil,
                registration: reg(v, cert: Array(cert("CAM-1", v).dropLast())), decision: .refused(.notEnrolled),
                after: nil),
            Case(
                name: "closed: certified new key rebinds (re-flashed device)", closed: true,
                registration: reg(s, cert: cert("CAM-1", s)),
                decision: .accepted(created: false, rebound: true), after: s),
            Case(
                name: "closed: the bound key without certificate refused", closed: true, registration: reg(v),
                decision: .refused(.notEnrolled), after: v),
            Case(
                name: "closed: a rotation proof without certificate refused", closed: true,
                registration: reg(s, rotation: rotation(from: victim, to: s)), decision: .refused(.notEnrolled),
                after: v),
        ]
    }()

    @Test(arguments: cases)
    func admitDecides(_ c: Case) {
        let bindings = PersistentDeviceBindings(
            deviceCAs: c.closed ? [Self.vendorKey] : [],
            loaded: c.bound.map { [DeviceBinding(uuid: "CAM-1", publicKey: $0)] } ?? [])
        #expect(bindings.admit(c.registration, server: Self.server, now: .zero) == c.decision)
        #expect(bindings.boundKey(uuid: "CAM-1") == c.after)
        let counters = bindings.counters
        switch c.decision {
        case .refused(.identityConflict): #expect(counters.refusedConflict == 1 && counters.refused == 1)
        case .refused: #expect(counters.refusedNotEnrolled == 1 && counters.refused == 1)
        case .accepted(let created, let rebound):
            #expect(
                counters.created == (created ? 1 : 0) && counters.rebound == (rebound ? 1 : 0) && counters.refused == 0)
        }
        // What the store is told: exactly the change made.
        let changes = bindings.takeChanges()
        switch c.decision {
        case .accepted(true, _):
            #expect(changes == [.bind(DeviceBinding(uuid: "CAM-1", publicKey: c.registration.publicKey))])
        case .accepted(false, true):
            #expect(
                changes == [
                    .rebind(DeviceBinding(uuid: "CAM-1", publicKey: c.registration.publicKey), previousKey: c.bound!)
                ])
        default: #expect(changes.isEmpty)
        }
    }

    @Test func aReleasedUUIDGoesToTheNextKeyAndTheOldHolderIsDisplaced() {
        let bindings = PersistentDeviceBindings(loaded: [DeviceBinding(uuid: "CAM-1", publicKey: Self.victim.publicKey)]
        )
        #expect(!bindings.release(uuid: "CAM-9"))
        #expect(bindings.release(uuid: "CAM-1"))
        #expect(bindings.boundKey(uuid: "CAM-1") == nil)
        let next = DeviceRegistration(uuid: "CAM-1", publicKey: Self.successor.publicKey, cookie: Self.cookie)
        #expect(bindings.admit(next, server: Self.server, now: .zero) == .accepted(created: true, rebound: true))
        #expect(bindings.counters.released == 1)
        #expect(
            bindings.takeChanges() == [
                .release(uuid: "CAM-1"), .bind(DeviceBinding(uuid: "CAM-1", publicKey: Self.successor.publicKey)),
            ])
        // The old key is now the stranger.
        let old = DeviceRegistration(uuid: "CAM-1", publicKey: Self.victim.publicKey, cookie: Self.cookie)
        #expect(bindings.admit(old, server: Self.server, now: .zero) == .refused(.identityConflict))
    }

    /// Closed enrollment verifies a key's certificate once per process; other keys still need theirs.
    @Test func aCertifiedKeyIsNotVerifiedAgain() {
        let bindings = PersistentDeviceBindings(deviceCAs: [Self.vendorKey])
        let v = Self.victim.publicKey
        func reg(_ key: [UInt8], _ cert: [UInt8]?) -> DeviceRegistration {
            DeviceRegistration(uuid: "CAM-1", publicKey: key, certificate: cert, cookie: Self.cookie)
        }
        #expect(
            bindings.admit(reg(v, Self.cert("CAM-1", v)), server: Self.server, now: .zero)
                == .accepted(created: true, rebound: false))
        #expect(
            bindings.admit(reg(v, nil), server: Self.server, now: .zero) == .accepted(created: false, rebound: false))
        #expect(
            bindings.admit(reg(Self.attacker.publicKey, nil), server: Self.server, now: .zero) == .refused(.notEnrolled)
        )
        #expect(
            bindings.admit(reg(Self.attacker.publicKey, Self.cert("CAM-1", v)), server: Self.server, now: .zero)
                == .refused(.notEnrolled))
        // After a release the certificate is needed again.
        bindings.release(uuid: "CAM-1")
        #expect(bindings.admit(reg(v, nil), server: Self.server, now: .zero) == .refused(.notEnrolled))
    }

    /// A full read of the database after an outage: releases made meanwhile are learned, our
    /// unwritten bindings and UUIDs with an unreadable (bad MAC) row are kept.
    @Test func aSnapshotLearnsReleasesAndKeepsWhatIsStillOurs() {
        let k1 = [UInt8](repeating: 1, count: 32)
        let k2 = [UInt8](repeating: 2, count: 32)
        let bindings = PersistentDeviceBindings(loaded: [
            DeviceBinding(uuid: "released", publicKey: k1), DeviceBinding(uuid: "moved", publicKey: k1),
            DeviceBinding(uuid: "forged-row", publicKey: k1), DeviceBinding(uuid: "same", publicKey: k1),
        ])
        _ = bindings.admit(
            DeviceRegistration(uuid: "new-here", publicKey: k2, cookie: Self.cookie), server: Self.server, now: .zero)
        let moved = bindings.applyStoredSnapshot(
            [DeviceBinding(uuid: "moved", publicKey: k2), DeviceBinding(uuid: "same", publicKey: k1)],
            present: ["moved", "same", "forged-row"])
        #expect(moved.map(\.uuid) == ["moved"] && moved.first?.previous == k1)
        #expect(bindings.boundKey(uuid: "released") == nil)
        #expect(bindings.boundKey(uuid: "moved") == k2)
        #expect(bindings.boundKey(uuid: "forged-row") == k1)
        #expect(bindings.boundKey(uuid: "same") == k1)
        #expect(bindings.boundKey(uuid: "new-here") == k2)
    }

    @Test func theDatabasesBindingOverridesOurs() {
        let bindings = PersistentDeviceBindings()
        let reg = DeviceRegistration(uuid: "CAM-1", publicKey: Self.attacker.publicKey, cookie: Self.cookie)
        #expect(bindings.admit(reg, server: Self.server, now: .zero) == .accepted(created: true, rebound: false))
        #expect(
            bindings.applyStored(DeviceBinding(uuid: "CAM-1", publicKey: Self.victim.publicKey))
                == Self.attacker.publicKey)
        #expect(bindings.applyStored(DeviceBinding(uuid: "CAM-1", publicKey: Self.victim.publicKey)) == nil)
        #expect(bindings.counters.overriddenByDatabase == 1)
        #expect(bindings.admit(reg, server: Self.server, now: .zero) == .refused(.identityConflict))
        bindings.applyStoredRelease(uuid: "CAM-1")
        #expect(bindings.boundKey(uuid: "CAM-1") == nil)
    }

    /// Started while the database was down: the UUID may be bound there, so an unknown UUID is
    /// not taken on first contact; a vendor-certified device is admitted. Loading the database's
    /// bindings lifts the hold.
    @Test func untilTheDatabasesBindingsAreLoadedOnlyCertifiedDevicesTakeAUUID() {
        let bindings = PersistentDeviceBindings(deviceCAs: [])
        bindings.awaitingAuthority = true
        let attacker = DeviceRegistration(uuid: "CAM-1", publicKey: Self.attacker.publicKey, cookie: Self.cookie)
        #expect(
            bindings.admit(attacker, server: Self.server, now: .zero) == .refused(.capacity),
            "retry later, not conflict")
        #expect(bindings.boundKey(uuid: "CAM-1") == nil && bindings.takeChanges().isEmpty)
        #expect(bindings.counters.refusedAwaitingDatabase == 1)

        let closed = PersistentDeviceBindings(deviceCAs: [Self.vendorKey])
        closed.awaitingAuthority = true
        let certified = DeviceRegistration(
            uuid: "CAM-2", publicKey: Self.victim.publicKey,
            certificate: Self.cert("CAM-2", Self.victim.publicKey), cookie: Self.cookie)
        #expect(closed.admit(certified, server: Self.server, now: .zero) == .accepted(created: true, rebound: false))

        _ = bindings.applyStoredSnapshot(
            [DeviceBinding(uuid: "CAM-1", publicKey: Self.victim.publicKey)], present: ["CAM-1"])
        bindings.awaitingAuthority = false
        #expect(bindings.admit(attacker, server: Self.server, now: .zero) == .refused(.identityConflict))
        let fresh = DeviceRegistration(uuid: "CAM-3", publicKey: Self.successor.publicKey, cookie: Self.cookie)
        #expect(bindings.admit(fresh, server: Self.server, now: .zero) == .accepted(created: true, rebound: false))
    }
}
