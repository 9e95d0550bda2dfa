// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// What a device sends to move its UUID from an old key to its current one: the old public key
/// and a proof made with the old private key (computed by the identity module; opaque here).
package struct KeyRotationData: Equatable, Sendable {
    package var oldPublicKey: [UInt8]
    package var proof: [UInt8]

    package init(oldPublicKey: [UInt8], proof: [UInt8]) {
        self.oldPublicKey = oldPublicKey
        self.proof = proof
    }
}
