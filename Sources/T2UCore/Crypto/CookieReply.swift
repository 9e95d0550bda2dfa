// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Crypto
import NIOCore

/// COOKIE_REPLY (0x06), the responder's answer under load to an initiation without a valid mac2:
///   type(1) initiatorCID(8) nonce(12, random) encryptedCookie(16 + 16 tag)   = 53 bytes
/// ChaCha20-Poly1305 under `HandshakeMacKeys.cookieKey`, associated data = the initiation's mac1,
/// so only the initiator that sent that initiation (and knows the device key) can use it.
/// Smaller than the initiation it answers: no amplification toward a spoofed source.
package enum CookieReply {
    package static let length = 1 + 8 + 12 + cookieLength + HandshakeLayout.tagLength
    static let cookieLength = 16
    /// How long an initiator uses a cookie (the responder's secret rotates as often).
    package static let lifetime: Nanos = .seconds(120)

    static func seal(
        cookie: [UInt8], initiatorConnectionID: ConnectionID, mac1: [UInt8], keys: HandshakeMacKeys,
        nonce: [UInt8]
    ) -> [UInt8] {
        // A 12-byte nonce and a 32-byte key are always valid.
        let box = try! ChaChaPoly.seal(
            cookie, using: keys.cookieKey, nonce: ChaChaPoly.Nonce(data: nonce), authenticating: mac1)
        var message: [UInt8] = [PacketType.cookieReply.rawValue]
        message.reserveCapacity(length)
        message.appendBigEndian(initiatorConnectionID.rawValue)
        message += nonce
        message += Array(box.ciphertext) + Array(box.tag)
        return message
    }

    /// The initiator CID a COOKIE_REPLY is addressed to (for routing; no crypto).
    package static func destination(_ datagram: ByteBuffer) throws(HandshakeError) -> ConnectionID {
        guard try datagram.handshakeType() == PacketType.cookieReply.rawValue, datagram.readableBytes == length else {
            throw .malformed("cookie reply of \(datagram.readableBytes) bytes")
        }
        return ConnectionID(rawValue: try datagram.handshakeUInt64(1))
    }

    /// The cookie, if the reply authenticates against the mac1 we sent.
    static func open(_ datagram: ByteBuffer, mac1: [UInt8], keys: HandshakeMacKeys) throws(HandshakeError) -> [UInt8] {
        _ = try destination(datagram)
        let nonce = try datagram.handshakeBytes(9, 12)
        let sealed = try datagram.handshakeBytes(21, cookieLength + HandshakeLayout.tagLength)
        do {
            let box = try ChaChaPoly.SealedBox(
                nonce: ChaChaPoly.Nonce(data: nonce), ciphertext: sealed[..<cookieLength], tag: sealed[cookieLength...])
            return Array(try ChaChaPoly.open(box, using: keys.cookieKey, authenticating: mac1))
        } catch {
            throw .authenticationFailed
        }
    }
}

/// The responder's cookie secret, rotated every `CookieReply.lifetime`:
///   cookie = HMAC-SHA256(secret, source address encoding)[0..<16]
///   address encoding: 4 | IPv4(4) | port(2), or 6 | IPv6(16) | port(2)
/// A mac2 made with the previous secret's cookie is still accepted, so a cookie handed out
/// just before a rotation stays usable for its lifetime.
struct CookieSecret {
    private var current: [UInt8]
    private var previous: [UInt8]?
    private var rotatedAt: Instant

    init(entropy: EntropySource, now: Instant) {
        current = entropy.bytes(32)
        rotatedAt = now
    }

    mutating func cookie(for source: NetAddress, now: Instant, entropy: EntropySource) -> [UInt8] {
        rotateIfDue(now: now, entropy: entropy)
        return Self.cookie(secret: current, source: source)
    }

    mutating func hasValidMac2(
        _ datagram: ByteBuffer, from source: NetAddress, now: Instant, entropy: EntropySource
    ) -> Bool {
        rotateIfDue(now: now, entropy: entropy)
        if HandshakeMacKeys.hasValidMac2(datagram, cookie: Self.cookie(secret: current, source: source)) { return true }
        guard let previous else { return false }
        return HandshakeMacKeys.hasValidMac2(datagram, cookie: Self.cookie(secret: previous, source: source))
    }

    private mutating func rotateIfDue(now: Instant, entropy: EntropySource) {
        guard now - rotatedAt >= CookieReply.lifetime else { return }
        // Long idle: both old secrets are stale.
        previous = now - rotatedAt >= CookieReply.lifetime * 2 ? nil : current
        current = entropy.bytes(32)
        rotatedAt = now
    }

    static func cookie(secret: [UInt8], source: NetAddress) -> [UInt8] {
        var encoded: [UInt8] = []
        switch source.host {
        case .v4(let value):
            encoded.append(4)
            for shift in stride(from: 24, through: 0, by: -8) {
                encoded.append(UInt8(truncatingIfNeeded: value >> UInt32(shift)))
            }
        case .v6(let high, let low):
            encoded.append(6)
            encoded.appendBigEndian(high)
            encoded.appendBigEndian(low)
        }
        encoded.append(UInt8(source.port >> 8))
        encoded.append(UInt8(source.port & 0xff))
        let mac = HMAC<SHA256>.authenticationCode(for: encoded, using: SymmetricKey(data: secret))
        return Array(Array(mac)[..<CookieReply.cookieLength])
    }
}
