// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import Testing

@testable import T2UCore

@Suite struct WireVarIntTests {
    static let edges: [UInt64] = [
        0, 1, 37, 63, 64, 15293, 16383, 16384, (1 << 30) - 1, 1 << 30, (1 << 32) + 5, VarInt.max - 1, VarInt.max,
    ]

    @Test(arguments: edges)
    func roundTripUsesShortestEncoding(value: UInt64) throws {
        var buffer = ByteBuffer()
        VarInt.write(value, to: &buffer)
        let expected = value < 64 ? 1 : value < 16384 ? 2 : value < (1 << 30) ? 4 : 8
        #expect(buffer.readableBytes == expected)
        #expect(VarInt.encodedLength(value) == expected)
        #expect(try VarInt.read(from: &buffer) == value)
        #expect(buffer.readableBytes == 0)
    }

    /// The examples of RFC 9000 §A.1, including a non-minimal encoding, which is accepted.
    static let rfcExamples: [([UInt8], UInt64)] = [
        ([0x25], 37),
        ([0x40, 0x25], 37),
        ([0x7B, 0xBD], 15293),
        ([0x9D, 0x7F, 0x3E, 0x7D], 494_878_333),
        ([0xC2, 0x19, 0x7C, 0x5E, 0xFF, 0x14, 0xE8, 0x8C], 151_288_809_941_952_652),
    ]

    @Test(arguments: rfcExamples)
    func decodesRFCExamples(bytes: [UInt8], value: UInt64) throws {
        var buffer = ByteBuffer(bytes: bytes)
        #expect(try VarInt.read(from: &buffer) == value)
        #expect(buffer.readableBytes == 0)
    }

    @Test func rfcExamplesEncodeExactly() {
        var buffer = ByteBuffer()
        VarInt.write(151_288_809_941_952_652, to: &buffer)
        VarInt.write(494_878_333, to: &buffer)
        VarInt.write(15293, to: &buffer)
        VarInt.write(37, to: &buffer)
        #expect(
            Array(buffer.readableBytesView) == [
                0xC2, 0x19, 0x7C, 0x5E, 0xFF, 0x14, 0xE8, 0x8C, 0x9D, 0x7F, 0x3E, 0x7D, 0x7B, 0xBD, 0x25,
            ])
    }

    static let truncatedInputs: [[UInt8]] = [[], [0x40], [0x80, 1, 2], [0xC0, 1, 2, 3, 4, 5, 6]]

    @Test(arguments: truncatedInputs)
    func truncatedInputThrowsAndConsumesNothing(bytes: [UInt8]) {
        var buffer = ByteBuffer(bytes: bytes)
        #expect(throws: WireError.truncated("varint")) { try VarInt.read(from: &buffer) }
        #expect(buffer.readableBytes == bytes.count)
    }
}
