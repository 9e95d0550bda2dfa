// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Crypto
import NIOCore

/// WireGuard's two MACs at the end of an initiation (docs/protocol/handshake.md):
///   mac1 = HMAC-SHA256(SHA-256("t2u mac1 v2" | responderStatic), bytes before mac1)[0..<16]
///   mac2 = HMAC-SHA256(cookie, bytes before mac2)[0..<16], or 16 zero bytes without a cookie
/// mac1 shows the sender was told the device's public key: junk fails it for the price of one
/// HMAC, before any DH or budget. mac2 shows the sender receives at its source address.
package struct HandshakeMacKeys: Sendable {
    static let macLength = 16
    let mac1Key: SymmetricKey
    /// ChaCha20-Poly1305 key of COOKIE_REPLY: SHA-256("t2u cookie v2" | responderStatic).
    let cookieKey: SymmetricKey

    package init(responderStatic: [UInt8]) {
        mac1Key = SymmetricKey(data: Self.labelledHash("t2u mac1 v2", responderStatic))
        cookieKey = SymmetricKey(data: Self.labelledHash("t2u cookie v2", responderStatic))
    }

    func mac1(over bytes: UnsafeRawBufferPointer) -> [UInt8] {
        Self.truncatedMAC(bytes, key: mac1Key)
    }

    func mac1(over bytes: [UInt8]) -> [UInt8] {
        bytes.withUnsafeBytes { mac1(over: $0) }
    }

    static func mac2(over bytes: UnsafeRawBufferPointer, cookie: [UInt8]) -> [UInt8] {
        truncatedMAC(bytes, key: SymmetricKey(data: cookie))
    }

    static func mac2(over bytes: [UInt8], cookie: [UInt8]) -> [UInt8] {
        bytes.withUnsafeBytes { mac2(over: $0, cookie: cookie) }
    }

    /// Whether an initiation-sized datagram carries a valid mac1 (constant time).
    func hasValidMac1(_ datagram: ByteBuffer) -> Bool {
        guard datagram.readableBytes == HandshakeLayout.initiationLength else { return false }
        return datagram.withUnsafeReadableBytes { raw in
            let expected = mac1(over: UnsafeRawBufferPointer(rebasing: raw[..<HandshakeLayout.initiationMac1Offset]))
            return constantTimeEqual(
                expected, raw[HandshakeLayout.initiationMac1Offset..<HandshakeLayout.initiationMac2Offset])
        }
    }

    /// Whether the datagram's mac2 is the MAC under `cookie` (constant time).
    static func hasValidMac2(_ datagram: ByteBuffer, cookie: [UInt8]) -> Bool {
        guard datagram.readableBytes == HandshakeLayout.initiationLength else { return false }
        return datagram.withUnsafeReadableBytes { raw in
            let expected = mac2(
                over: UnsafeRawBufferPointer(rebasing: raw[..<HandshakeLayout.initiationMac2Offset]), cookie: cookie)
            return constantTimeEqual(expected, raw[HandshakeLayout.initiationMac2Offset...])
        }
    }

    private static func truncatedMAC(_ bytes: UnsafeRawBufferPointer, key: SymmetricKey) -> [UInt8] {
        Array(Array(HMAC<SHA256>.authenticationCode(for: bytes, using: key))[..<macLength])
    }

    static func labelledHash(_ label: String, _ key: [UInt8]) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(data: Array(label.utf8))
        hasher.update(data: key)
        return Array(hasher.finalize())
    }
}

/// Compares without an early exit, so timing does not reveal how many leading bytes matched.
func constantTimeEqual<A: Collection<UInt8>, B: Collection<UInt8>>(_ a: A, _ b: B) -> Bool {
    guard a.count == b.count else { return false }
    var difference: UInt8 = 0
    for (x, y) in zip(a, b) { difference |= x ^ y }
    return difference == 0
}
