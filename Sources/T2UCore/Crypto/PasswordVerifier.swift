// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Crypto

/// The device password's two derived keys: one proves knowledge of the password in message 1,
/// the other is the PSK mixed into the session. Salted with the device's static public key, so
/// a guess tested against one device's initiation says nothing about another's, and no table
/// can be precomputed. The device builds this once at start and keeps only these keys.
///   salt     = SHA-256("t2u password v2" | devicePublicKey)
///   psk      = HKDF-SHA256(ikm: password, salt, info: "psk")   (32 bytes)
///   proofKey = HKDF-SHA256(ikm: password, salt, info: "proof") (32 bytes)
package struct PasswordVerifier: Sendable {
    let proofKey: [UInt8]
    let psk: [UInt8]

    package init(password: [UInt8], devicePublicKey: [UInt8]) {
        var hasher = SHA256()
        hasher.update(data: Array("t2u password v2".utf8))
        hasher.update(data: devicePublicKey)
        let salt = Array(hasher.finalize())
        let ikm = SymmetricKey(data: password)
        func derive(_ info: String) -> [UInt8] {
            HKDF<SHA256>.deriveKey(inputKeyMaterial: ikm, salt: salt, info: Array(info.utf8), outputByteCount: 32)
                .withUnsafeBytes { Array($0) }
        }
        proofKey = derive("proof")
        psk = derive("psk")
    }

    /// HMAC-SHA256 over the transcript hash at the point of the payload: binds the proof to this
    /// handshake's ephemeral key, initiator static key and connection ID.
    func proof(transcript: [UInt8]) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: transcript, using: SymmetricKey(data: proofKey)))
    }

    func verify(proof: [UInt8], transcript: [UInt8]) -> Bool {
        HMAC<SHA256>.isValidAuthenticationCode(proof, authenticating: transcript, using: SymmetricKey(data: proofKey))
    }

    static let zeroPSK = [UInt8](repeating: 0, count: 32)
}
