// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Crypto

#if os(Linux)
import CT2UAEAD
#endif

/// ChaCha20-Poly1305 under one key, sealing in place and opening into a caller's buffer. On
/// Linux one BoringSSL context per key does it with no allocation (`packet_aead.h` says why);
/// elsewhere `SwiftCryptoAEAD` does, with swift-crypto's copies.
///
/// `@unchecked Sendable`: the context is immutable once made, and BoringSSL allows seal and open
/// on one context from several threads at once.
final class PacketAEAD: @unchecked Sendable {
    static let keyLength = 32
    static let nonceLength = 12
    static let tagLength = 16

    #if os(Linux)
    private let context: OpaquePointer

    init(key: [UInt8]) {
        precondition(key.count == Self.keyLength, "ChaCha20-Poly1305 keys are 32 bytes")
        guard let context = key.withUnsafeBufferPointer({ packet_aead_new($0.baseAddress) }) else {
            fatalError("BoringSSL could not allocate an AEAD context (out of memory)")
        }
        self.context = context
    }

    deinit { packet_aead_free(context) }

    /// Encrypts `body` in place and writes the tag to `tag` (16 bytes, not overlapping `body`).
    func seal(
        nonce: UnsafeRawPointer, body: UnsafeMutableRawBufferPointer, tag: UnsafeMutableRawPointer,
        authenticating header: UnsafeRawBufferPointer
    ) {
        let sealed = packet_aead_seal(
            context, nonce.assumingMemoryBound(to: UInt8.self), body.baseAddress?.assumingMemoryBound(to: UInt8.self),
            body.count, tag.assumingMemoryBound(to: UInt8.self),
            header.baseAddress?.assumingMemoryBound(to: UInt8.self),
            header.count)
        precondition(sealed == 1, "ChaCha20-Poly1305 seal failed with a valid key and nonce")
    }

    /// Decrypts `ciphertext` into `plaintext` (`ciphertext.count` bytes; the same memory, or
    /// not overlapping) if `tag` authenticates it and `header`.
    func open(
        nonce: UnsafeRawPointer, ciphertext: UnsafeRawBufferPointer, tag: UnsafeRawPointer,
        authenticating header: UnsafeRawBufferPointer, into plaintext: UnsafeMutableRawPointer
    ) -> Bool {
        packet_aead_open(
            context, nonce.assumingMemoryBound(to: UInt8.self),
            ciphertext.baseAddress?.assumingMemoryBound(to: UInt8.self), ciphertext.count,
            tag.assumingMemoryBound(to: UInt8.self), plaintext.assumingMemoryBound(to: UInt8.self),
            header.baseAddress?.assumingMemoryBound(to: UInt8.self), header.count) == 1
    }
    #else
    private let aead: SwiftCryptoAEAD

    init(key: [UInt8]) {
        precondition(key.count == Self.keyLength, "ChaCha20-Poly1305 keys are 32 bytes")
        aead = SwiftCryptoAEAD(key: key)
    }

    func seal(
        nonce: UnsafeRawPointer, body: UnsafeMutableRawBufferPointer, tag: UnsafeMutableRawPointer,
        authenticating header: UnsafeRawBufferPointer
    ) {
        aead.seal(nonce: nonce, body: body, tag: tag, authenticating: header)
    }

    func open(
        nonce: UnsafeRawPointer, ciphertext: UnsafeRawBufferPointer, tag: UnsafeRawPointer,
        authenticating header: UnsafeRawBufferPointer, into plaintext: UnsafeMutableRawPointer
    ) -> Bool {
        aead.open(nonce: nonce, ciphertext: ciphertext, tag: tag, authenticating: header, into: plaintext)
    }
    #endif
}

/// `PacketAEAD`'s interface over swift-crypto's `ChaChaPoly`: what platforms without BoringSSL
/// use. Built everywhere, so the tests on Linux hold the two to the same bytes.
struct SwiftCryptoAEAD {
    private let key: SymmetricKey

    init(key: [UInt8]) {
        self.key = SymmetricKey(data: key)
    }

    func seal(
        nonce: UnsafeRawPointer, body: UnsafeMutableRawBufferPointer, tag: UnsafeMutableRawPointer,
        authenticating header: UnsafeRawBufferPointer
    ) {
        // 12 bytes are always a valid nonce, and sealing cannot fail with a valid key.
        let nonce = try! ChaChaPoly.Nonce(data: UnsafeRawBufferPointer(start: nonce, count: PacketAEAD.nonceLength))
        let box = try! ChaChaPoly.seal(UnsafeRawBufferPointer(body), using: key, nonce: nonce, authenticating: header)
        box.ciphertext.withUnsafeBytes { body.copyMemory(from: $0) }
        box.tag.withUnsafeBytes {
            UnsafeMutableRawBufferPointer(start: tag, count: PacketAEAD.tagLength).copyMemory(from: $0)
        }
    }

    func open(
        nonce: UnsafeRawPointer, ciphertext: UnsafeRawBufferPointer, tag: UnsafeRawPointer,
        authenticating header: UnsafeRawBufferPointer, into plaintext: UnsafeMutableRawPointer
    ) -> Bool {
        guard
            let box = try? ChaChaPoly.SealedBox(
                nonce: ChaChaPoly.Nonce(data: UnsafeRawBufferPointer(start: nonce, count: PacketAEAD.nonceLength)),
                ciphertext: ciphertext, tag: UnsafeRawBufferPointer(start: tag, count: PacketAEAD.tagLength)),
            let opened = try? ChaChaPoly.open(box, using: key, authenticating: header)
        else { return false }
        opened.withUnsafeBytes {
            UnsafeMutableRawBufferPointer(start: plaintext, count: ciphertext.count).copyMemory(from: $0)
        }
        return true
    }
}
