// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Crypto

/// A device's old key handing its UUID to a new key (docs/SECURITY.md §1, rotation).
///
/// proof = HMAC-SHA256(key: X25519(old, server), "t2u rotate v1" | u8 len(uuid) | uuid | newKey(32) | cookie).
/// Only the holder of the old private key (or the server) can compute the DH, so a copied public
/// key gains nothing; the cookie binds the proof to one registration at this server, so a proof
/// seen once cannot be replayed later or elsewhere.
package enum KeyRotationProof {
    package static let label = Array("t2u rotate v1".utf8)
    package static let length = 32

    /// Device side: made with the old private key at REGISTER time.
    package static func make(
        old: StaticIdentity, serverPublicKey: [UInt8], uuid: String, newPublicKey: [UInt8],
        cookie: [UInt8]
    ) -> [UInt8]? {
        guard uuid.utf8.count <= 255, let key = sharedKey(old, serverPublicKey) else { return nil }
        return Array(
            HMAC<SHA256>.authenticationCode(
                for: message(uuid: uuid, newPublicKey: newPublicKey, cookie: cookie), using: key))
    }

    /// Server side: whether `proof` was made by the private key of `oldPublicKey` for exactly
    /// this UUID, new key and cookie (constant-time compare).
    package static func verify(
        server: StaticIdentity, oldPublicKey: [UInt8], proof: [UInt8], uuid: String,
        newPublicKey: [UInt8], cookie: [UInt8]
    ) -> Bool {
        guard proof.count == length, newPublicKey.count == 32, uuid.utf8.count <= 255,
            let key = sharedKey(server, oldPublicKey)
        else { return false }
        return HMAC<SHA256>.isValidAuthenticationCode(
            proof, authenticating: message(uuid: uuid, newPublicKey: newPublicKey, cookie: cookie), using: key)
    }

    static func message(uuid: String, newPublicKey: [UInt8], cookie: [UInt8]) -> [UInt8] {
        let uuidBytes = Array(uuid.utf8)
        return label + [UInt8(truncatingIfNeeded: uuidBytes.count)] + uuidBytes + newPublicKey + cookie
    }

    /// X25519 of `identity` with `publicKey`; nil for a malformed or low-order public key.
    private static func sharedKey(_ identity: StaticIdentity, _ publicKey: [UInt8]) -> SymmetricKey? {
        guard publicKey.count == 32,
            let peer = try? Curve25519.KeyAgreement.PublicKey(rawRepresentation: publicKey),
            let secret = try? identity.privateKey.sharedSecretFromKeyAgreement(with: peer)
        else { return nil }
        let bytes = secret.withUnsafeBytes { Array($0) }
        guard bytes.contains(where: { $0 != 0 }) else { return nil }
        return SymmetricKey(data: bytes)
    }
}
