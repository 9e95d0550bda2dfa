// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Crypto
import Testing

@testable import T2UCore

/// The two sealers `PacketAEAD` is built on, under one interface for these tests.
protocol AEADUnderTest {
    func seal(
        nonce: UnsafeRawPointer, body: UnsafeMutableRawBufferPointer, tag: UnsafeMutableRawPointer,
        authenticating header: UnsafeRawBufferPointer)
    func open(
        nonce: UnsafeRawPointer, ciphertext: UnsafeRawBufferPointer, tag: UnsafeRawPointer,
        authenticating header: UnsafeRawBufferPointer, into plaintext: UnsafeMutableRawPointer
    ) -> Bool
}

extension PacketAEAD: AEADUnderTest {}
extension SwiftCryptoAEAD: AEADUnderTest {}

/// `PacketAEAD` (BoringSSL on Linux) and `SwiftCryptoAEAD` (its fallback elsewhere) are
/// ChaCha20-Poly1305 (RFC 8439) bit for bit: the RFC's vector, agreement with swift-crypto's
/// `ChaChaPoly` both ways at every size a packet can have, and every forgery refused.
@Suite struct PacketAEADTests {
    static let implementations = ["PacketAEAD", "SwiftCryptoAEAD"]

    static func make(_ name: String, key: [UInt8]) -> any AEADUnderTest {
        name == "PacketAEAD" ? PacketAEAD(key: key) : SwiftCryptoAEAD(key: key)
    }

    static func hex(_ string: String) -> [UInt8] {
        let digits = Array(string.filter { !$0.isWhitespace })
        return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(digits[$0...$0 + 1]), radix: 16)! }
    }

    /// Seals `plaintext` in place; returns ciphertext and tag.
    static func seal(_ aead: any AEADUnderTest, nonce: [UInt8], _ plaintext: [UInt8], ad: [UInt8]) -> ([UInt8], [UInt8])
    {
        var body = plaintext
        var tag = [UInt8](repeating: 0, count: PacketAEAD.tagLength)
        body.withUnsafeMutableBytes { body in
            tag.withUnsafeMutableBytes { tag in
                ad.withUnsafeBytes { ad in
                    nonce.withUnsafeBytes {
                        aead.seal(nonce: $0.baseAddress!, body: body, tag: tag.baseAddress!, authenticating: ad)
                    }
                }
            }
        }
        return (body, tag)
    }

    /// Opens into a separate buffer (nil if it does not authenticate).
    static func open(
        _ aead: any AEADUnderTest, nonce: [UInt8], _ ciphertext: [UInt8], tag: [UInt8], ad: [UInt8]
    ) -> [UInt8]? {
        var out = [UInt8](repeating: 0xAA, count: max(ciphertext.count, 1))
        let ok = out.withUnsafeMutableBytes { out in
            ciphertext.withUnsafeBytes { ciphertext in
                tag.withUnsafeBytes { tag in
                    ad.withUnsafeBytes { ad in
                        nonce.withUnsafeBytes {
                            aead.open(
                                nonce: $0.baseAddress!, ciphertext: ciphertext, tag: tag.baseAddress!,
                                authenticating: ad,
                                into: out.baseAddress!)
                        }
                    }
                }
            }
        }
        return ok ? Array(out.prefix(ciphertext.count)) : nil
    }

    @Test(arguments: implementations) func matchesTheRFC8439Vector(implementation: String) {
        // RFC 8439 §2.8.2.
        let key = Array(0x80...0x9F as ClosedRange<UInt8>)
        let nonce = Self.hex("070000004041424344454647")
        let ad = Self.hex("50515253c0c1c2c3c4c5c6c7")
        let plaintext = Array(
            "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it."
                .utf8)
        let ciphertext = Self.hex(
            """
            d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb69da92728b
            1a71de0a9e060b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc
            3ff4def08e4b7a9de576d26586cec64b6116
            """)
        let aead = Self.make(implementation, key: key)
        let (sealed, tag) = Self.seal(aead, nonce: nonce, plaintext, ad: ad)
        #expect(sealed == ciphertext)
        #expect(tag == Self.hex("1ae10b594f09e26a7e902ecbd0600691"))
        #expect(Self.open(aead, nonce: nonce, sealed, tag: tag, ad: ad) == plaintext)
    }

    @Test(arguments: implementations) func agreesWithSwiftCryptoBothWays(implementation: String) throws {
        var generator = SystemRandomNumberGenerator()
        for size in [0, 1, 15, 16, 17, 63, 64, 65, 255, 256, 1024, 1200, 1452, 1500, 9000] {
            let key = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
            let nonce = (0..<12).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
            let ad = (0..<(size % 20)).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
            let plaintext = (0..<size).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
            let aead = Self.make(implementation, key: key)

            let (sealed, tag) = Self.seal(aead, nonce: nonce, plaintext, ad: ad)
            let box = try ChaChaPoly.open(
                ChaChaPoly.SealedBox(nonce: ChaChaPoly.Nonce(data: nonce), ciphertext: sealed, tag: tag),
                using: SymmetricKey(data: key), authenticating: ad)
            #expect(Array(box) == plaintext, "size \(size): swift-crypto opens ours")

            let theirs = try ChaChaPoly.seal(
                plaintext, using: SymmetricKey(data: key), nonce: ChaChaPoly.Nonce(data: nonce), authenticating: ad)
            #expect(
                Self.open(aead, nonce: nonce, Array(theirs.ciphertext), tag: Array(theirs.tag), ad: ad) == plaintext,
                "size \(size): we open swift-crypto's")
        }
    }

    @Test(arguments: implementations) func refusesAnyChangedByteAndOpensInPlace(implementation: String) {
        let aead = Self.make(implementation, key: [UInt8](repeating: 7, count: 32))
        let nonce = [UInt8](repeating: 1, count: 12)
        let ad: [UInt8] = [1, 2, 3, 4]
        let plaintext = Array(0..<200 as Range<UInt8>)
        let (sealed, tag) = Self.seal(aead, nonce: nonce, plaintext, ad: ad)
        for index in [0, 99, 199] {
            var changed = sealed
            changed[index] ^= 0x01
            #expect(Self.open(aead, nonce: nonce, changed, tag: tag, ad: ad) == nil)
        }
        var badTag = tag
        badTag[15] ^= 0x80
        #expect(Self.open(aead, nonce: nonce, sealed, tag: badTag, ad: ad) == nil)
        #expect(Self.open(aead, nonce: nonce, sealed, tag: tag, ad: [1, 2, 3, 5]) == nil)
        var otherNonce = nonce
        otherNonce[11] = 2
        #expect(Self.open(aead, nonce: otherNonce, sealed, tag: tag, ad: ad) == nil)

        // In place: the ciphertext's own memory receives the plaintext.
        var inPlace = sealed
        let ok = inPlace.withUnsafeMutableBytes { body in
            tag.withUnsafeBytes { tag in
                ad.withUnsafeBytes { ad in
                    nonce.withUnsafeBytes {
                        aead.open(
                            nonce: $0.baseAddress!, ciphertext: UnsafeRawBufferPointer(body), tag: tag.baseAddress!,
                            authenticating: ad, into: body.baseAddress!)
                    }
                }
            }
        }
        #expect(ok)
        #expect(inPlace == plaintext)
    }
}
