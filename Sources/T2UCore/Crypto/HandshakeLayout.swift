// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore

/// Byte layout of the three handshake messages. All integers big endian.
///
/// Initiation (0x01), always `initiationLength` (440) bytes so it is never smaller than any reply:
///   type(1) initiatorCID(8) ephemeral(32) encStatic(32+16) encPayload(303+16) mac1(16) mac2(16)
///   payload plaintext: flags(1, bit0 = password proof present) timestamp(12, TAI64N) proof(32)
///                      length(2) bytes padding
/// Response (0x02):
///   type(1) initiatorCID(8) responderCID(8) flags(1, bit0 = password mixed) ephemeral(32) encPayload(n+16)
/// Rejection (0x03):
///   type(1) initiatorCID(8) responderCID(8) ephemeral(32) encReason(1+16)
enum HandshakeLayout {
    static let tagLength = 16
    static let keyLength = 32
    static let proofLength = 32
    /// Largest caller payload (transport parameters) either side may send.
    static let maxPayloadLength = 256

    // Initiation
    static let initiationHeaderLength = 1 + 8
    static let initiationEphemeralOffset = initiationHeaderLength
    static let initiationStaticOffset = initiationEphemeralOffset + keyLength
    static let initiationPayloadOffset = initiationStaticOffset + keyLength + tagLength
    static let initiationTimestampOffset = 1  // within the payload plaintext
    static let initiationProofOffset = initiationTimestampOffset + Tai64N.length
    static let initiationPayloadPlaintextLength = 1 + Tai64N.length + proofLength + 2 + maxPayloadLength
    static let initiationMac1Offset = initiationPayloadOffset + initiationPayloadPlaintextLength + tagLength
    static let initiationMac2Offset = initiationMac1Offset + HandshakeMacKeys.macLength
    static let initiationLength = initiationMac2Offset + HandshakeMacKeys.macLength

    // Response
    static let responseHeaderLength = 1 + 8 + 8 + 1
    static let responseEphemeralOffset = responseHeaderLength
    static let responsePayloadOffset = responseEphemeralOffset + keyLength
    static let responseMinLength = responsePayloadOffset + tagLength
    static let responseMaxLength = responseMinLength + maxPayloadLength

    // Rejection
    static let rejectionHeaderLength = 1 + 8 + 8
    static let rejectionEphemeralOffset = rejectionHeaderLength
    static let rejectionReasonOffset = rejectionEphemeralOffset + keyLength
    static let rejectionLength = rejectionReasonOffset + 1 + tagLength

    static let flagPasswordProof: UInt8 = 0x01
    static let flagPasswordMixed: UInt8 = 0x01
}

/// Bounds-checked reads relative to the readable bytes of an untrusted datagram.
extension ByteBuffer {
    func handshakeBytes(_ offset: Int, _ length: Int) throws(HandshakeError) -> [UInt8] {
        guard offset >= 0, length >= 0, offset + length <= readableBytes,
            let bytes = getBytes(at: readerIndex + offset, length: length)
        else { throw .malformed("truncated handshake message") }
        return bytes
    }

    func handshakeUInt64(_ offset: Int) throws(HandshakeError) -> UInt64 {
        guard offset >= 0, offset + 8 <= readableBytes,
            let value = getInteger(at: readerIndex + offset, as: UInt64.self)
        else { throw .malformed("truncated handshake message") }
        return value
    }

    func handshakeType() throws(HandshakeError) -> UInt8 {
        guard readableBytes >= 1, let type = getInteger(at: readerIndex, as: UInt8.self) else {
            throw .malformed("empty datagram")
        }
        return type
    }
}

extension Array where Element == UInt8 {
    mutating func appendBigEndian(_ value: UInt64) {
        for shift in stride(from: 56, through: 0, by: -8) { append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
    }
}
