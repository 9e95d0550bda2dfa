// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import T2UCore

/// The default `DeviceBindings`: in memory, the first key that registers a UUID keeps it for
/// the life of the process. It cannot verify certificates or rotation proofs, so it refuses a
/// registration that presents one rather than accept what it cannot check (fail closed). The
/// identity module's implementation (persistence, certificates, rotation) replaces it.
package final class FirstKeyBindings: DeviceBindings {
    private var keys: [String: [UInt8]] = [:]

    package init() {}

    package func admit(_ registration: DeviceRegistration, server: StaticIdentity, now: Instant) -> BindingDecision {
        guard registration.certificate == nil, registration.rotation == nil else { return .refused(.identityConflict) }
        if let bound = keys[registration.uuid] {
            return bound == registration.publicKey
                ? .accepted(created: false, rebound: false) : .refused(.identityConflict)
        }
        keys[registration.uuid] = registration.publicKey
        return .accepted(created: true, rebound: false)
    }

    package func boundKey(uuid: String) -> [UInt8]? { keys[uuid] }

    @discardableResult
    package func release(uuid: String) -> Bool { keys.removeValue(forKey: uuid) != nil }
}
