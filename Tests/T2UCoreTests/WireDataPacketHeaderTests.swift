// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import Testing

@testable import T2UCore

@Suite struct WireDataPacketHeaderTests {
    static let keyPhases: [UInt8] = [0, 1]
    static let values: [UInt64] = [0, 1, 0x0102_0304_0506_0708, UInt64.max]

    @Test(arguments: keyPhases, values)
    func roundTrips(keyPhase: UInt8, value: UInt64) throws {
        let header = DataPacketHeader(
            keyPhase: keyPhase, destinationConnectionID: ConnectionID(rawValue: value), packetNumber: ~value)
        var buffer = ByteBuffer()
        header.write(into: &buffer)
        #expect(buffer.readableBytes == DataPacketHeader.length)
        #expect(try DataPacketHeader.parse(buffer) == header)
    }

    @Test func layoutIsTypeFlagsCIDAndBigEndianPacketNumber() throws {
        var buffer = ByteBuffer()
        DataPacketHeader(
            keyPhase: 1, destinationConnectionID: ConnectionID(rawValue: 0x1122_3344_5566_7788), packetNumber: 0x0102
        )
        .write(into: &buffer)
        #expect(
            Array(buffer.readableBytesView) == [
                PacketType.dataKeyPhase1.rawValue, 0,
                0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
                0, 0, 0, 0, 0, 0, 0x01, 0x02,
            ])
    }

    @Test func parseReadsFromTheReaderIndexWithoutConsuming() throws {
        let header = DataPacketHeader(keyPhase: 0, destinationConnectionID: ConnectionID(rawValue: 42), packetNumber: 7)
        var buffer = ByteBuffer(bytes: [0xEE, 0xEE])
        header.write(into: &buffer)
        buffer.writeBytes([1, 2, 3])  // ciphertext follows
        buffer.moveReaderIndex(forwardBy: 2)
        #expect(try DataPacketHeader.parse(buffer) == header)
        #expect(buffer.readableBytes == DataPacketHeader.length + 3)
    }

    @Test func everyShortInputIsTruncated() {
        var full = ByteBuffer()
        DataPacketHeader(keyPhase: 0, destinationConnectionID: ConnectionID(rawValue: 1), packetNumber: 1).write(
            into: &full)
        for cut in 0..<DataPacketHeader.length {
            #expect(throws: WireError.truncated("data packet header"), "cut \(cut)") {
                try DataPacketHeader.parse(full.getSlice(at: 0, length: cut)!)
            }
        }
    }

    static let malformed: [(UInt8, UInt8, WireError)] = [
        (0x99, 0, .unknownPacketType(0x99)),
        (0x00, 0, .unknownPacketType(0x00)),
        (PacketType.handshakeInitiation.rawValue, 0, .invalidHeader("packet type 1 is not a data packet")),
        (PacketType.dataKeyPhase0.rawValue, 0x80, .invalidHeader("reserved flags set")),
    ]

    @Test(arguments: malformed)
    func malformedHeadersAreRejected(type: UInt8, flags: UInt8, expected: WireError) {
        let buffer = ByteBuffer(bytes: [type, flags] + Array(repeating: 0xAB, count: 16))
        #expect(throws: expected) { try DataPacketHeader.parse(buffer) }
    }
}
