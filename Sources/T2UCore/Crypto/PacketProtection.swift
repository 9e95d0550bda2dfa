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
    let key: SymmetricKey
    private let ivHigh: UInt32
    private let ivLow: UInt64

    init(secret: [UInt8]) {
        self.secret = secret
        key = SymmetricKey(data: HandshakeSymmetricState.expand(secret: secret, label: "t2u key", count: 32))
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

    /// IV XOR packet number, the packet number big endian in the last 8 bytes.
    func nonce(_ packetNumber: UInt64) -> ChaChaPoly.Nonce {
        let low = ivLow ^ packetNumber
        // Three UInt32s: 12 contiguous bytes without padding (a UInt64 member would be aligned).
        var bytes = (
            ivHigh.bigEndian, UInt32(truncatingIfNeeded: low >> 32).bigEndian, UInt32(truncatingIfNeeded: low).bigEndian
        )
        return withUnsafeBytes(of: &bytes) { raw in
            // 12 bytes is always a valid ChaChaPoly nonce.
            try! ChaChaPoly.Nonce(data: raw)
        }
    }

    func seal(_ packet: inout ByteBuffer, headerLength: Int, packetNumber: UInt64) {
        let nonce = nonce(packetNumber)
        let box = packet.withUnsafeReadableBytes { raw in
            try? ChaChaPoly.seal(
                UnsafeRawBufferPointer(rebasing: raw[headerLength...]), using: key, nonce: nonce,
                authenticating: UnsafeRawBufferPointer(rebasing: raw[..<headerLength]))
        }
        guard let box else { fatalError("ChaChaPoly.seal failed with a valid key and nonce") }
        let bodyIndex = packet.readerIndex + headerLength
        // Overwrite the plaintext in place, then append the tag.
        box.combined.withUnsafeBytes { combined in
            let ciphertextAndTag = UnsafeRawBufferPointer(rebasing: combined[12...])
            let ciphertextLength = ciphertextAndTag.count - PacketProtection.tagLength
            packet.setBytes(UnsafeRawBufferPointer(rebasing: ciphertextAndTag[..<ciphertextLength]), at: bodyIndex)
            packet.writeBytes(UnsafeRawBufferPointer(rebasing: ciphertextAndTag[ciphertextLength...]))
        }
    }

    func open(_ packet: ByteBuffer, headerLength: Int, packetNumber: UInt64) -> ByteBuffer? {
        let nonce = nonce(packetNumber)
        return packet.withUnsafeReadableBytes { raw -> ByteBuffer? in
            guard headerLength >= 0, raw.count - headerLength >= PacketProtection.tagLength else { return nil }
            // One exact-size nonce|ciphertext|tag buffer: ~20% faster per packet than letting
            // SealedBox(nonce:ciphertext:tag:) concatenate three pieces.
            var combined = [UInt8]()
            combined.reserveCapacity(12 + raw.count - headerLength)
            nonce.withUnsafeBytes { combined.append(contentsOf: $0) }
            combined.append(contentsOf: UnsafeRawBufferPointer(rebasing: raw[headerLength...]))
            guard let box = try? ChaChaPoly.SealedBox(combined: combined),
                let plaintext = try? ChaChaPoly.open(
                    box, using: key, authenticating: UnsafeRawBufferPointer(rebasing: raw[..<headerLength]))
            else { return nil }
            var out = ByteBufferAllocator().buffer(capacity: plaintext.count)
            plaintext.withUnsafeBytes { _ = out.writeBytes($0) }
            return out
        }
    }
}

/// 1-RTT packet protection (ChaCha20-Poly1305, header as associated data) with QUIC-style key
/// updates: the key phase bit flips, both directions move to the next generation, and the
/// previous receive keys stay until the next update so reordered packets still open.
package struct PacketProtection: Sendable {
    package static let tagLength = 16

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
