import Crypto

/// Challenge-response proof of the server key (`svrkey`): the key never crosses the wire, and a
/// proof is bound to the cookie (so to the source address and a time bucket) and to the identity
/// being registered, so it cannot be replayed elsewhere.
public enum SignalingProof {
    /// HMAC-SHA256(key: SHA-256(serverKey), cookie | role | len(uuid) | uuid | publicKey).
    public static func make(serverKey: String, cookie: [UInt8], role: SignalingRole, uuid: String, publicKey: [UInt8]) -> [UInt8] {
        var mac = HMAC<SHA256>(key: derivedKey(serverKey))
        mac.update(data: cookie)
        let uuidBytes = Array(uuid.utf8)
        mac.update(data: [role.rawValue, UInt8(truncatingIfNeeded: uuidBytes.count)])
        mac.update(data: uuidBytes)
        mac.update(data: publicKey)
        return Array(mac.finalize())
    }

    /// Constant-time comparison of `proof` with the expected one.
    public static func verify(_ proof: [UInt8], serverKey: String, cookie: [UInt8], role: SignalingRole, uuid: String,
                              publicKey: [UInt8]) -> Bool {
        let expected = make(serverKey: serverKey, cookie: cookie, role: role, uuid: uuid, publicKey: publicKey)
        guard proof.count == expected.count else { return false }
        var diff: UInt8 = 0
        for i in 0..<expected.count { diff |= proof[i] ^ expected[i] }
        return diff == 0
    }

    private static func derivedKey(_ serverKey: String) -> SymmetricKey {
        SymmetricKey(data: SHA256.hash(data: Array(serverKey.utf8)))
    }
}
