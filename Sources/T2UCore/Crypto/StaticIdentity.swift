// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Crypto

/// A long-lived X25519 key pair: the device agent keeps one in its state file and the client
/// pins the device's public key. 32-byte raw keys on the wire and on disk.
public struct StaticIdentity: Sendable {
    public let privateKey: Curve25519.KeyAgreement.PrivateKey
    public var publicKey: [UInt8] { Array(privateKey.publicKey.rawRepresentation) }

    public init(privateKey: Curve25519.KeyAgreement.PrivateKey) { self.privateKey = privateKey }

    /// From 32 raw private-key bytes (as stored on disk).
    public init(rawPrivateKey: [UInt8]) throws {
        self.privateKey = try Curve25519.KeyAgreement.PrivateKey(rawRepresentation: rawPrivateKey)
    }

    /// A fresh key pair drawn from `entropy` (seeded in simulations, the system CSPRNG otherwise).
    public static func generate(_ entropy: EntropySource) -> StaticIdentity {
        // Any 32 bytes are a valid X25519 private key (clamped by the scalar multiplication).
        try! StaticIdentity(rawPrivateKey: entropy.bytes(32))
    }
}
