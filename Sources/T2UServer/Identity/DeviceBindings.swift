// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import T2UCore

/// What a device proved in its REGISTER: the UUID it claims, the static key the Noise IK
/// registration authenticated (`ss` needs its private key), and what it offers to hold that UUID
/// with another key than the bound one.
package struct DeviceRegistration: Sendable, Equatable {
    package var uuid: String
    package var publicKey: [UInt8]
    /// A vendor certificate as sent (closed enrollment); nil when none.
    package var certificate: [UInt8]?
    /// Proof by the previously bound key that it hands the UUID to `publicKey`.
    package var rotation: KeyRotation?
    /// The cookie of this registration: rotation proofs are bound to it (fresh, this server).
    package var cookie: [UInt8]

    package init(
        uuid: String, publicKey: [UInt8], certificate: [UInt8]? = nil, rotation: KeyRotation? = nil, cookie: [UInt8]
    ) {
        self.uuid = uuid
        self.publicKey = publicKey
        self.certificate = certificate
        self.rotation = rotation
        self.cookie = cookie
    }
}

/// Old key + HMAC(DH(old, server), "t2u rotate v1" | len(uuid) | uuid | new key | cookie).
package struct KeyRotation: Sendable, Equatable {
    package var oldPublicKey: [UInt8]
    package var proof: [UInt8]

    package init(oldPublicKey: [UInt8], proof: [UInt8]) {
        self.oldPublicKey = oldPublicKey
        self.proof = proof
    }
}

package enum BindingDecision: Sendable, Equatable {
    /// The device may hold its UUID; `rebound`: the binding moved to its key (rotation,
    /// certificate, or a released UUID), `created`: this was the UUID's first registration.
    case accepted(created: Bool, rebound: Bool)
    /// Refused with the code the device is told (`identityConflict`, `notEnrolled`).
    case refused(SignalingErrorCode)
}

/// UUID -> device public key, bound at first registration and kept (docs/SECURITY.md §1).
/// Sans-IO like the registry: persistent backends keep a local copy and write behind.
package protocol DeviceBindings: AnyObject {
    /// Decides whether `registration` may hold its UUID, verifying certificate and rotation
    /// proofs (the latter with `server`, the server's static identity), and records the outcome.
    func admit(_ registration: DeviceRegistration, server: StaticIdentity, now: Instant) -> BindingDecision
    /// The key bound to `uuid`, if any.
    func boundKey(uuid: String) -> [UInt8]?
    /// Forgets the binding of `uuid` (operator action); false when there was none.
    @discardableResult
    func release(uuid: String) -> Bool
}
