// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Crypto
import T2UCore

/// Stateless cookie: bucket(4) | HMAC-SHA256(secret, address | bucket)[0..<16]. It proves that a
/// REGISTER comes from the address that received the CHALLENGE, without per-HELLO state.
struct ServerCookie {
    private let key: SymmetricKey
    private let bucketLength: Nanos

    init(secret: [UInt8], bucketLength: Nanos) {
        self.key = SymmetricKey(data: secret)
        self.bucketLength = bucketLength
    }

    func make(for address: NetAddress, now: Instant) -> [UInt8] {
        make(for: address, bucket: bucket(now))
    }

    /// Valid for the bucket it was made in and the next one.
    func verify(_ cookie: [UInt8], for address: NetAddress, now: Instant) -> Bool {
        guard cookie.count == SignalingLimits.cookieLength else { return false }
        let stamped = UInt32(cookie[0]) << 24 | UInt32(cookie[1]) << 16 | UInt32(cookie[2]) << 8 | UInt32(cookie[3])
        let current = bucket(now)
        guard stamped == current || stamped &+ 1 == current else { return false }
        let expected = make(for: address, bucket: stamped)
        var diff: UInt8 = 0
        for i in 0..<expected.count { diff |= cookie[i] ^ expected[i] }
        return diff == 0
    }

    private func bucket(_ now: Instant) -> UInt32 {
        UInt32(truncatingIfNeeded: now.nanoseconds / max(1, bucketLength.value))
    }

    private func make(for address: NetAddress, bucket: UInt32) -> [UInt8] {
        var mac = HMAC<SHA256>(key: key)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(24)
        switch address.host {
        case .v4(let ip):
            bytes.append(4)
            for shift in stride(from: 24, through: 0, by: -8) {
                bytes.append(UInt8(truncatingIfNeeded: ip >> UInt32(shift)))
            }
        case .v6(let hi, let lo):
            bytes.append(6)
            for shift in stride(from: 56, through: 0, by: -8) {
                bytes.append(UInt8(truncatingIfNeeded: hi >> UInt64(shift)))
            }
            for shift in stride(from: 56, through: 0, by: -8) {
                bytes.append(UInt8(truncatingIfNeeded: lo >> UInt64(shift)))
            }
        }
        bytes.append(UInt8(address.port >> 8))
        bytes.append(UInt8(address.port & 0xff))
        let stamp = [UInt8(bucket >> 24), UInt8(bucket >> 16 & 0xff), UInt8(bucket >> 8 & 0xff), UInt8(bucket & 0xff)]
        mac.update(data: bytes)
        mac.update(data: stamp)
        return stamp + Array(mac.finalize()).prefix(16)
    }
}
