// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Testing

@testable import T2UCore

/// A rotation proof moves a UUID only for the exact (old key, server, UUID, new key, cookie).
@Suite struct KeyRotationProofTests {
    static func identity(_ seed: UInt64) -> StaticIdentity { StaticIdentity.generate(SeededEntropy(seed: seed)) }
    let old = identity(1)
    let new = identity(2)
    let server = identity(3)
    let cookie = Array(repeating: UInt8(7), count: 20)

    func proof(
        old: StaticIdentity? = nil, server: StaticIdentity? = nil, uuid: String = "CAM-1", newKey: [UInt8]? = nil,
        cookie: [UInt8]? = nil
    ) throws -> [UInt8] {
        try #require(
            KeyRotationProof.make(
                old: old ?? self.old, serverPublicKey: (server ?? self.server).publicKey, uuid: uuid,
                newPublicKey: newKey ?? new.publicKey, cookie: cookie ?? self.cookie))
    }

    func verify(
        _ proof: [UInt8], oldKey: [UInt8]? = nil, uuid: String = "CAM-1", newKey: [UInt8]? = nil,
        cookie: [UInt8]? = nil
    ) -> Bool {
        KeyRotationProof.verify(
            server: server, oldPublicKey: oldKey ?? old.publicKey, proof: proof, uuid: uuid,
            newPublicKey: newKey ?? new.publicKey, cookie: cookie ?? self.cookie)
    }

    @Test func theOldKeysProofVerifies() throws {
        let p = try proof()
        #expect(p.count == 32)
        #expect(verify(p))
    }

    @Test(arguments: [
        "other cookie", "other uuid", "other new key", "other old key", "other server", "made by another key",
        "truncated", "one bit flipped", "empty",
    ])
    func anyOtherContextIsRefused(_ attack: String) throws {
        let good = try proof()
        var otherCookie = cookie
        otherCookie[19] ^= 1
        let refused: Bool
        switch attack {
        case "other cookie": refused = !verify(good, cookie: otherCookie)
        case "other uuid": refused = !verify(good, uuid: "CAM-2")
        case "other new key": refused = !verify(good, newKey: Self.identity(9).publicKey)
        case "other old key": refused = !verify(good, oldKey: Self.identity(9).publicKey)
        case "other server": refused = !verify(try proof(server: Self.identity(9)))
        // An attacker with its own key claims to be the old key: the DH gives it away.
        case "made by another key": refused = !verify(try proof(old: Self.identity(9)))
        case "truncated": refused = !verify(Array(good.prefix(31)))
        case "one bit flipped":
            var flipped = good
            flipped[0] ^= 0x80
            refused = !verify(flipped)
        default: refused = !verify([])
        }
        #expect(refused, "\(attack) was accepted")
    }

    @Test func lowOrderAndMalformedKeysNeverVerify() throws {
        let zero = [UInt8](repeating: 0, count: 32)
        #expect(
            KeyRotationProof.make(
                old: old, serverPublicKey: zero, uuid: "CAM-1", newPublicKey: new.publicKey, cookie: cookie) == nil)
        #expect(!verify(try proof(), oldKey: zero))
        #expect(!verify(try proof(), oldKey: [1, 2, 3]))
        #expect(!verify(try proof(), newKey: Array(new.publicKey.prefix(31))))
    }
}
