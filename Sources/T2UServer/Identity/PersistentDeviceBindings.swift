// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import T2UCore

/// The server's UUID -> device key bindings (docs/SECURITY.md §1), sans-IO: decisions are made
/// on the local copy at once, and every change is queued for the store (bindings file or
/// database) that the shell drains with `takeChanges()` (write-behind). Owned by the server's
/// event loop, like the core.
///
/// Decisions for a REGISTER of (uuid, key):
/// - closed enrollment (device CAs configured): no valid certificate for (uuid, key) -> notEnrolled;
/// - unbound -> bound to key (created);
/// - bound to key -> accepted;
/// - bound to another key -> rebound when the old key proved the rotation or (closed
///   enrollment) a vendor certificate covers the new key; otherwise identityConflict.
package final class PersistentDeviceBindings: DeviceBindings {
    /// Ed25519 public keys of the vendor CAs (`--device-ca`); empty: open enrollment.
    package private(set) var deviceCAs: [[UInt8]]
    package private(set) var counters = BindingCounters()
    private var keys: [String: [UInt8]] = [:]
    /// Released by the operator and not bound again yet: the next registration takes the UUID
    /// over from whatever record still holds it (`rebound`).
    private var released: Set<String> = []
    private var pending: [BindingChange] = []
    /// Closed enrollment: UUIDs whose bound key's certificate was verified in this process, so a
    /// device's every re-registration does not cost an Ed25519 verification.
    private var certifiedBound: Set<String> = []
    /// The authoritative store (the database) has not been read yet: a UUID unknown here may be
    /// bound there, so only vendor-certified devices take one; the others are asked to retry.
    package var awaitingAuthority = false
    /// Bumped on every change of a binding (the local cache file is rewritten when it moved).
    package private(set) var revision: UInt64 = 0

    package init(deviceCAs: [[UInt8]] = [], loaded: [DeviceBinding] = []) {
        self.deviceCAs = deviceCAs
        for binding in loaded { keys[binding.uuid] = binding.publicKey }
    }

    /// A reload's new vendor CAs: certificates verified under the old list are verified again
    /// at the next registration (a removed CA's devices are refused from then on).
    package func replaceDeviceCAs(_ cas: [[UInt8]]) {
        deviceCAs = cas
        certifiedBound.removeAll()
    }

    package var closedEnrollment: Bool { !deviceCAs.isEmpty }
    package var count: Int { keys.count }
    /// Every binding (admin listing, file compaction).
    package var all: [DeviceBinding] { keys.map { DeviceBinding(uuid: $0.key, publicKey: $0.value) } }

    // MARK: DeviceBindings

    package func admit(_ registration: DeviceRegistration, server: StaticIdentity, now: Instant) -> BindingDecision {
        let uuid = registration.uuid
        let key = registration.publicKey
        let alreadyCertified = keys[uuid] == key && certifiedBound.contains(uuid)
        let certified = closedEnrollment && (alreadyCertified || certificateValid(registration))
        if closedEnrollment && !certified {
            counters.refusedNotEnrolled += 1
            return .refused(.notEnrolled)
        }
        if closedEnrollment { certifiedBound.insert(uuid) }
        guard let bound = keys[uuid] else {
            if awaitingAuthority && !certified {
                counters.refusedAwaitingDatabase += 1
                return .refused(.capacity)
            }
            keys[uuid] = key
            revision &+= 1
            pending.append(.bind(DeviceBinding(uuid: uuid, publicKey: key)))
            counters.created += 1
            let wasReleased = released.remove(uuid) != nil
            return .accepted(created: true, rebound: wasReleased)
        }
        if bound == key { return .accepted(created: false, rebound: false) }
        if rotationValid(registration, boundKey: bound, server: server) {
            counters.rotated += 1
        } else if certified {
            counters.certified += 1
        } else {
            counters.refusedConflict += 1
            return .refused(.identityConflict)
        }
        keys[uuid] = key
        revision &+= 1
        pending.append(.rebind(DeviceBinding(uuid: uuid, publicKey: key), previousKey: bound))
        return .accepted(created: false, rebound: true)
    }

    package func boundKey(uuid: String) -> [UInt8]? { keys[uuid] }

    @discardableResult
    package func release(uuid: String) -> Bool {
        guard keys.removeValue(forKey: uuid) != nil else { return false }
        revision &+= 1
        certifiedBound.remove(uuid)
        released.insert(uuid)
        pending.append(.release(uuid: uuid))
        counters.released += 1
        return true
    }

    // MARK: Store (the shell)

    /// Changes not yet handed to the store, oldest first.
    package func takeChanges() -> [BindingChange] {
        defer { pending.removeAll(keepingCapacity: true) }
        return pending
    }

    package var pendingChanges: Int { pending.count }

    /// Changes the store could not write go back in front, in order.
    package func requeue(_ changes: [BindingChange]) {
        pending.insert(contentsOf: changes, at: 0)
    }

    /// The authoritative store (the database) says `binding` holds: it replaces ours. Returns
    /// the key we had when it differed (a device registered under it must be dropped), else nil.
    @discardableResult
    package func applyStored(_ binding: DeviceBinding) -> [UInt8]? {
        let previous = keys.updateValue(binding.publicKey, forKey: binding.uuid)
        if previous != binding.publicKey { revision &+= 1 }
        released.remove(binding.uuid)
        guard let previous, previous != binding.publicKey else { return nil }
        certifiedBound.remove(binding.uuid)
        counters.overriddenByDatabase += 1
        return previous
    }

    /// A full read of the authoritative store: its valid rows replace ours, and a binding of ours
    /// that it no longer holds was released meanwhile (unless our own change for it still waits to
    /// be written). `present`: every UUID the store has a row for, valid or not (a row with a bad
    /// MAC is not a release). Returns (uuid, key we had) for every binding that moved to another key.
    package func applyStoredSnapshot(
        _ rows: [DeviceBinding], present: Set<String>
    ) -> [(uuid: String, previous: [UInt8])] {
        var moved: [(uuid: String, previous: [UInt8])] = []
        for row in rows {
            if let previous = applyStored(row) { moved.append((row.uuid, previous)) }
        }
        let waiting = Set(pending.map(\.uuid))
        for uuid in keys.keys where !present.contains(uuid) && !waiting.contains(uuid) {
            applyStoredRelease(uuid: uuid)
        }
        return moved
    }

    /// The authoritative store released `uuid` (another server's operator action).
    package func applyStoredRelease(uuid: String) {
        if keys.removeValue(forKey: uuid) != nil {
            released.insert(uuid)
            revision &+= 1
        }
        certifiedBound.remove(uuid)
    }

    /// A stored binding whose MAC failed was skipped (counted for the metrics).
    package func countBadMAC() { counters.badMAC += 1 }

    // MARK: Proofs

    private func certificateValid(_ registration: DeviceRegistration) -> Bool {
        guard let bytes = registration.certificate, let certificate = try? DeviceCertificate(bytes: bytes) else {
            return false
        }
        do {
            try certificate.verify(uuid: registration.uuid, deviceKey: registration.publicKey, trustedCAs: deviceCAs)
            return true
        } catch {
            return false
        }
    }

    private func rotationValid(_ registration: DeviceRegistration, boundKey: [UInt8], server: StaticIdentity) -> Bool {
        guard let rotation = registration.rotation, rotation.oldPublicKey == boundKey else { return false }
        return KeyRotationProof.verify(
            server: server, oldPublicKey: boundKey, proof: rotation.proof, uuid: registration.uuid,
            newPublicKey: registration.publicKey, cookie: registration.cookie)
    }
}
