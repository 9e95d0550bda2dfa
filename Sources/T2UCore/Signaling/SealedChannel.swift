// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Crypto
import NIOCore

/// One direction pair of signaling keys from a registration (docs/protocol/channel.md): every
/// message after REGISTERED travels as SEALED = type(1)=0x33 channel(8) counter(8) |
/// ChaCha20-Poly1305(key of the direction, nonce = 4 zero bytes | counter (big endian),
/// associated data = those 17 header bytes) over a complete signaling message.
/// Counters start at 0 and never repeat; a received counter is checked against the replay
/// window before decrypting (cheap) and marked only after the tag verified.
package struct SealedChannel: Sendable {
    /// The channel ID: the registration's token.
    package let id: UInt64
    private let sendKey: SymmetricKey
    private let receiveKey: SymmetricKey
    package private(set) var nextCounter: UInt64 = 0
    private var replay = ReplayWindow()

    package init(id: UInt64, sendKey: [UInt8], receiveKey: [UInt8]) {
        self.id = id
        self.sendKey = SymmetricKey(data: sendKey)
        self.receiveKey = SymmetricKey(data: receiveKey)
    }

    package enum OpenFailure: Error, Equatable, Sendable {
        /// The counter was seen before or is older than the window: a replay.
        case replayed
        /// Wrong key or tampered bytes.
        case authenticationFailed
        /// Authentic, but not a signaling message that may travel sealed.
        case malformed(String)
    }

    /// Seals `message` (one of `SignalingMessage.isChannelMessage`) under the next counter.
    package mutating func seal(_ message: SignalingMessage) -> SignalingMessage.Sealed {
        var inner = ByteBufferAllocator().buffer(capacity: 96)
        message.write(into: &inner)
        let counter = nextCounter
        nextCounter &+= 1
        let box = try! ChaChaPoly.seal(
            Array(inner.readableBytesView), using: sendKey, nonce: Self.nonce(counter),
            authenticating: Self.header(channel: id, counter: counter))
        return SignalingMessage.Sealed(
            channel: id, counter: counter, ciphertext: Array(box.ciphertext) + Array(box.tag))
    }

    /// Whether `counter` could be accepted (not replayed, not too old): check before `open`.
    package func isFresh(_ counter: UInt64) -> Bool { replay.isFresh(counter) }

    /// Authenticates and decrypts `sealed` (for this channel) and parses the message inside.
    package mutating func open(_ sealed: SignalingMessage.Sealed) throws(OpenFailure) -> SignalingMessage {
        guard replay.isFresh(sealed.counter) else { throw .replayed }
        let ciphertext = sealed.ciphertext
        guard ciphertext.count >= SignalingLimits.tagLength else { throw .authenticationFailed }
        let plaintext: [UInt8]
        do {
            let split = ciphertext.count - SignalingLimits.tagLength
            let box = try ChaChaPoly.SealedBox(
                nonce: Self.nonce(sealed.counter), ciphertext: ciphertext[..<split],
                tag: ciphertext[split...])
            plaintext = Array(
                try ChaChaPoly.open(
                    box, using: receiveKey,
                    authenticating: Self.header(channel: sealed.channel, counter: sealed.counter)))
        } catch {
            throw .authenticationFailed
        }
        replay.mark(sealed.counter)
        let message: SignalingMessage
        do {
            message = try SignalingMessage.parse(ByteBuffer(bytes: plaintext))
        } catch {
            throw .malformed("\(error)")
        }
        guard message.isChannelMessage else { throw .malformed("\(message.type) may not travel sealed") }
        return message
    }

    private static func nonce(_ counter: UInt64) -> ChaChaPoly.Nonce {
        var bytes = [UInt8](repeating: 0, count: 12)
        for i in 0..<8 { bytes[4 + i] = UInt8(truncatingIfNeeded: counter >> (56 - 8 * UInt64(i))) }
        return try! ChaChaPoly.Nonce(data: bytes)
    }

    /// The 17 clear header bytes: the associated data.
    static func header(channel: UInt64, counter: UInt64) -> [UInt8] {
        var bytes = [SignalingMessageType.sealed.rawValue]
        bytes.reserveCapacity(SignalingLimits.sealedHeaderLength)
        for value in [channel, counter] {
            for shift in stride(from: 56, through: 0, by: -8) {
                bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift)))
            }
        }
        return bytes
    }
}
