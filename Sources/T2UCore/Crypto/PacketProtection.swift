// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Crypto
import NIOCore

package enum PacketProtectionError: Error, Equatable, Sendable {
    case authenticationFailed
    /// `initiateKeyUpdate` before the peer was seen using the current key phase.
    case keyUpdateTooEarly
    case tooShort
}

/// AEAD keys of one direction in one key phase, derived once so the per-packet path only builds
/// a nonce.
struct PhaseKeys {
    let secret: [UInt8]
    private let aead: PacketAEAD
    private let ivHigh: UInt32
    private let ivLow: UInt64

    init(secret: [UInt8]) {
        self.secret = secret
        aead = PacketAEAD(key: HandshakeSymmetricState.expand(secret: secret, label: "t2u key", count: 32))
        let iv = HandshakeSymmetricState.expand(secret: secret, label: "t2u iv", count: 12)
        ivHigh = iv[0..<4].reduce(0) { $0 << 8 | UInt32($1) }
        ivLow = iv[4..<12].reduce(0) { $0 << 8 | UInt64($1) }
    }

    /// QUIC-style key update: the next generation's secret is derived from this one, and from
    /// a fresh X25519 shared secret when a KEY_UPDATE exchange agreed one:
    ///   next = HKDF-Expand(HKDF-Extract(salt: secret, ikm: shared), "t2u key update dh", 32)
    func next(mixing sharedSecret: [UInt8]? = nil) -> PhaseKeys {
        guard let sharedSecret else {
            return PhaseKeys(secret: HandshakeSymmetricState.expand(secret: secret, label: "t2u key update", count: 32))
        }
        let prk = HKDF<SHA256>.extract(inputKeyMaterial: SymmetricKey(data: sharedSecret), salt: secret)
        let okm = HKDF<SHA256>.expand(pseudoRandomKey: prk, info: Array("t2u key update dh".utf8), outputByteCount: 32)
        return PhaseKeys(secret: okm.withUnsafeBytes { Array($0) })
    }

    /// IV XOR packet number, the packet number big endian in the last 8 bytes, as 12 bytes on
    /// the stack for `body`.
    func withNonce<Result>(_ packetNumber: UInt64, _ body: (UnsafeRawPointer) -> Result) -> Result {
        let low = ivLow ^ packetNumber
        // Three UInt32s: 12 contiguous bytes without padding (a UInt64 member would be aligned).
        let bytes = (
            ivHigh.bigEndian, UInt32(truncatingIfNeeded: low >> 32).bigEndian, UInt32(truncatingIfNeeded: low).bigEndian
        )
        return withUnsafeBytes(of: bytes) { body($0.baseAddress!) }
    }

    /// Encrypts the bytes after the header in place and appends the tag.
    func seal(_ packet: inout ByteBuffer, headerLength: Int, packetNumber: UInt64) {
        let bodyLength = packet.readableBytes - headerLength
        packet.writeRepeatingByte(0, count: PacketProtection.tagLength)
        packet.withUnsafeMutableReadableBytes { raw in
            let header = UnsafeRawBufferPointer(rebasing: raw[..<headerLength])
            let body = UnsafeMutableRawBufferPointer(rebasing: raw[headerLength..<(headerLength + bodyLength)])
            let tag = raw.baseAddress! + headerLength + bodyLength
            withNonce(packetNumber) { aead.seal(nonce: $0, body: body, tag: tag, authenticating: header) }
        }
    }

    /// The plaintext after the header, in a buffer of its own, or nil if it does not open.
    func open(_ packet: ByteBuffer, headerLength: Int, packetNumber: UInt64) -> ByteBuffer? {
        let bodyLength = packet.readableBytes - headerLength - PacketProtection.tagLength
        guard headerLength >= 0, bodyLength >= 0 else { return nil }
        // At least a byte, so an empty body (a forged packet may have one) still has an address.
        var plaintext = ByteBufferAllocator().buffer(capacity: max(bodyLength, 1))
        var opened = false
        packet.withUnsafeReadableBytes { raw in
            let header = UnsafeRawBufferPointer(rebasing: raw[..<headerLength])
            let ciphertext = UnsafeRawBufferPointer(rebasing: raw[headerLength..<(headerLength + bodyLength)])
            let tag = raw.baseAddress! + headerLength + bodyLength
            plaintext.writeWithUnsafeMutableBytes(minimumWritableBytes: bodyLength) { out in
                opened = withNonce(packetNumber) {
                    aead.open(
                        nonce: $0, ciphertext: ciphertext, tag: tag, authenticating: header, into: out.baseAddress!)
                }
                return opened ? bodyLength : 0
            }
        }
        return opened ? plaintext : nil
    }
}

/// 1-RTT packet protection (ChaCha20-Poly1305, header as associated data) with QUIC-style key
/// updates: the key phase bit flips, both directions move to the next generation, and the
/// previous receive keys stay until the next update so reordered packets still open.
package struct PacketProtection: Sendable {
    package static let tagLength = PacketAEAD.tagLength

    /// Key phase bit we send with (0/1, for DataPacketHeader.keyPhase).
    package private(set) var sendKeyPhase: UInt8 = 0
    /// Completed key updates, by either side.
    package private(set) var keyUpdates: UInt64 = 0

    private var sendKeys: PhaseKeys
    private var receiveKeys: PhaseKeys
    private var previousReceiveKeys: PhaseKeys?
    /// Derived ahead so a packet claiming the next phase costs no key derivation.
    private var nextReceiveKeys: PhaseKeys
    /// Lowest packet number authenticated in the current receive phase; nil until the peer is
    /// seen using it. Packets with the other phase bit below it are from the previous phase,
    /// above it from the next.
    private var lowestPacketNumberInPhase: UInt64?
    /// Mixed into the next phase's keys (both directions), then forgotten.
    private var pendingSharedSecret: [UInt8]?

    package init(keys: SessionKeys) {
        sendKeys = PhaseKeys(secret: keys.sendSecret)
        receiveKeys = PhaseKeys(secret: keys.receiveSecret)
        nextReceiveKeys = receiveKeys.next()
    }

    /// `packet` holds a clear header of `headerLength` bytes followed by plaintext; on return it holds the
    /// same header followed by ciphertext and the 16-byte tag. The header is the associated data.
    package mutating func seal(packet: inout ByteBuffer, headerLength: Int, packetNumber: UInt64) {
        precondition(headerLength >= 0 && headerLength <= packet.readableBytes, "header longer than packet")
        sendKeys.seal(&packet, headerLength: headerLength, packetNumber: packetNumber)
    }

    /// Decrypts the bytes after the header; returns the plaintext. Handles a peer-initiated key update.
    package mutating func open(
        packet: ByteBuffer, headerLength: Int, packetNumber: UInt64, keyPhase: UInt8
    ) throws(PacketProtectionError) -> ByteBuffer {
        guard headerLength >= 0, packet.readableBytes - headerLength >= Self.tagLength else { throw .tooShort }
        let phase = keyPhase & 1
        let currentReceivePhase = sendKeyPhase  // send and receive switch together
        if phase == currentReceivePhase {
            guard let plaintext = receiveKeys.open(packet, headerLength: headerLength, packetNumber: packetNumber)
            else {
                throw .authenticationFailed
            }
            lowestPacketNumberInPhase = min(lowestPacketNumberInPhase ?? .max, packetNumber)
            return plaintext
        }

        // Other phase bit: a reordered packet of the previous phase, or the peer's key update.
        let mayBePrevious = lowestPacketNumberInPhase.map { packetNumber < $0 } ?? true
        if mayBePrevious, let previous = previousReceiveKeys,
            let plaintext = previous.open(packet, headerLength: headerLength, packetNumber: packetNumber)
        {
            return plaintext
        }
        // The peer may only be one phase ahead of us. Once it has used the current phase, a
        // number below its first one cannot be from the next phase.
        if let lowest = lowestPacketNumberInPhase, packetNumber < lowest { throw .authenticationFailed }
        guard let plaintext = nextReceiveKeys.open(packet, headerLength: headerLength, packetNumber: packetNumber)
        else {
            throw .authenticationFailed
        }
        advancePhase()
        lowestPacketNumberInPhase = packetNumber
        return plaintext
    }

    package var canInitiateKeyUpdate: Bool { lowestPacketNumberInPhase != nil }

    /// A fresh shared secret (KEY_UPDATE exchange) for the next key phase, whichever side
    /// starts it: the keys ready for the peer's update are derived again with it.
    mutating func mixIntoNextPhase(_ sharedSecret: [UInt8]) {
        pendingSharedSecret = sharedSecret
        nextReceiveKeys = receiveKeys.next(mixing: sharedSecret)
    }

    package mutating func initiateKeyUpdate() throws(PacketProtectionError) {
        guard canInitiateKeyUpdate else { throw .keyUpdateTooEarly }
        advancePhase()
        lowestPacketNumberInPhase = nil
    }

    private mutating func advancePhase() {
        previousReceiveKeys = receiveKeys
        receiveKeys = nextReceiveKeys
        nextReceiveKeys = receiveKeys.next()
        sendKeys = sendKeys.next(mixing: pendingSharedSecret)
        pendingSharedSecret = nil
        sendKeyPhase ^= 1
        keyUpdates &+= 1
    }
}
