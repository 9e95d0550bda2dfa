// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Crypto

/// The Noise "SymmetricState": a chaining key that accumulates every DH result and the PSK, and a
/// transcript hash that every message byte is mixed into and that each AEAD authenticates.
/// Every cipher key is used exactly once, so the nonce is always zero. Shared by the transport
/// handshake and the signaling registration (IK); each names its own protocol.
struct HandshakeSymmetricState {
    static let protocolName: [UInt8] = Array("t2u IKpsk2 X25519 ChaChaPoly SHA256 v2".utf8)

    private(set) var chainingKey: [UInt8]
    private(set) var hash: [UInt8]
    private var cipherKey: SymmetricKey?

    /// Starts a handshake towards (or as) the responder with static public key `responderStatic`.
    init(responderStatic: [UInt8]) {
        self.init(protocolName: Self.protocolName, responderStatic: responderStatic)
    }

    /// The same for the handshake named `protocolName` (its hash starts h and ck, as in Noise).
    init(protocolName: [UInt8], responderStatic: [UInt8]) {
        let initial = Array(SHA256.hash(data: protocolName))
        chainingKey = initial
        hash = initial
        mixHash(responderStatic)
    }

    mutating func mixHash(_ data: [UInt8]) {
        var hasher = SHA256()
        hasher.update(data: hash)
        hasher.update(data: data)
        hash = Array(hasher.finalize())
    }

    /// HKDF(ck, ikm) -> (ck', k).
    mutating func mixKey(_ inputKeyMaterial: [UInt8]) {
        let out = Self.kdf(chainingKey: chainingKey, inputKeyMaterial: inputKeyMaterial, outputs: 2)
        chainingKey = out[0]
        cipherKey = SymmetricKey(data: out[1])
    }

    /// Noise psk token: HKDF(ck, psk) -> (ck', temp_h, k), and temp_h is mixed into the hash.
    mutating func mixKeyAndHash(_ inputKeyMaterial: [UInt8]) {
        let out = Self.kdf(chainingKey: chainingKey, inputKeyMaterial: inputKeyMaterial, outputs: 3)
        chainingKey = out[0]
        mixHash(out[1])
        cipherKey = SymmetricKey(data: out[2])
    }

    mutating func encryptAndHash(_ plaintext: [UInt8]) -> [UInt8] {
        guard let key = cipherKey,
            let box = try? ChaChaPoly.seal(plaintext, using: key, nonce: Self.zeroNonce, authenticating: hash)
        else {
            // Only reachable through a programming error (no mixKey before encrypting).
            fatalError("handshake cipher used without a key")
        }
        cipherKey = nil
        let ciphertext = Array(box.ciphertext) + Array(box.tag)
        mixHash(ciphertext)
        return ciphertext
    }

    mutating func decryptAndHash(_ ciphertext: [UInt8]) throws(HandshakeError) -> [UInt8] {
        guard let key = cipherKey else { fatalError("handshake cipher used without a key") }
        cipherKey = nil
        guard ciphertext.count >= 16 else { throw .malformed("ciphertext shorter than tag") }
        let plaintext: [UInt8]
        do {
            let box = try ChaChaPoly.SealedBox(
                nonce: Self.zeroNonce, ciphertext: Array(ciphertext[..<(ciphertext.count - 16)]),
                tag: Array(ciphertext[(ciphertext.count - 16)...]))
            plaintext = Array(try ChaChaPoly.open(box, using: key, authenticating: hash))
        } catch {
            throw .authenticationFailed
        }
        mixHash(ciphertext)
        return plaintext
    }

    /// Final transport secrets, one per direction.
    func split() -> (initiatorToResponder: [UInt8], responderToInitiator: [UInt8]) {
        let out = Self.kdf(chainingKey: chainingKey, inputKeyMaterial: [], outputs: 2)
        return (out[0], out[1])
    }

    private static let zeroNonce: ChaChaPoly.Nonce = {
        // 12 zero bytes is always a valid nonce.
        try! ChaChaPoly.Nonce(data: [UInt8](repeating: 0, count: 12))
    }()

    /// Noise HKDF: HKDF-Extract(salt = ck, ikm) then Expand into `outputs` 32-byte blocks.
    static func kdf(chainingKey: [UInt8], inputKeyMaterial: [UInt8], outputs: Int) -> [[UInt8]] {
        let prk = HKDF<SHA256>.extract(inputKeyMaterial: SymmetricKey(data: inputKeyMaterial), salt: chainingKey)
        let okm = HKDF<SHA256>.expand(pseudoRandomKey: prk, info: [UInt8](), outputByteCount: 32 * outputs)
        let bytes = okm.withUnsafeBytes { Array($0) }
        return (0..<outputs).map { Array(bytes[($0 * 32)..<($0 * 32 + 32)]) }
    }

    static func expand(secret: [UInt8], label: String, count: Int) -> [UInt8] {
        let okm = HKDF<SHA256>.expand(pseudoRandomKey: secret, info: Array(label.utf8), outputByteCount: count)
        return okm.withUnsafeBytes { Array($0) }
    }
}

/// X25519 between our private key and a peer's raw public key.
func diffieHellman(
    _ privateKey: Curve25519.KeyAgreement.PrivateKey, _ peerPublic: [UInt8], what: String
) throws(HandshakeError) -> [UInt8] {
    guard peerPublic.count == 32 else { throw .invalidKey("\(what): expected 32 bytes, got \(peerPublic.count)") }
    do {
        let publicKey = try Curve25519.KeyAgreement.PublicKey(rawRepresentation: peerPublic)
        let shared = try privateKey.sharedSecretFromKeyAgreement(with: publicKey)
        return shared.withUnsafeBytes { Array($0) }
    } catch {
        // BoringSSL refuses low-order points (all-zero shared secret).
        throw .invalidKey("\(what): unusable public key")
    }
}
