// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore

/// Clear header of a 1-RTT protected packet; it is the AEAD's associated data, so any change to
/// it in flight fails authentication.
///
/// Layout: type(1) flags(1, reserved 0) destination connection ID(8) packet number(8), integers
/// big endian. The full packet number is sent (no truncation): 6 more bytes per packet buy a
/// decoder with no reconstruction window to get wrong.
package struct DataPacketHeader: Equatable, Sendable {
    package static let length = 18

    /// 0 or 1; selects type byte `PacketType.dataKeyPhase0` or `.dataKeyPhase1`.
    package var keyPhase: UInt8
    package var destinationConnectionID: ConnectionID
    package var packetNumber: PacketNumber

    package init(keyPhase: UInt8, destinationConnectionID: ConnectionID, packetNumber: PacketNumber) {
        self.keyPhase = keyPhase
        self.destinationConnectionID = destinationConnectionID
        self.packetNumber = packetNumber
    }

    package func write(into buffer: inout ByteBuffer) {
        precondition(keyPhase <= 1, "key phase must be 0 or 1")
        let type = keyPhase == 0 ? PacketType.dataKeyPhase0 : PacketType.dataKeyPhase1
        buffer.writeMultipleIntegers(
            type.rawValue, UInt8(0), destinationConnectionID.rawValue, packetNumber)
    }

    /// Parses from the start of `buffer` without consuming.
    package static func parse(_ buffer: ByteBuffer) throws(WireError) -> DataPacketHeader {
        let start = buffer.readerIndex
        guard let type = buffer.getInteger(at: start, as: UInt8.self) else {
            throw .truncated("data packet header")
        }
        let keyPhase: UInt8
        switch PacketType(rawValue: type) {
        case .dataKeyPhase0: keyPhase = 0
        case .dataKeyPhase1: keyPhase = 1
        case .some: throw .invalidHeader("packet type \(type) is not a data packet")
        case .none: throw .unknownPacketType(type)
        }
        guard
            let (flags, cid, packetNumber) = buffer.getMultipleIntegers(
                at: start + 1, as: (UInt8, UInt64, UInt64).self)
        else {
            throw .truncated("data packet header")
        }
        guard flags == 0 else { throw .invalidHeader("reserved flags set") }
        return DataPacketHeader(
            keyPhase: keyPhase, destinationConnectionID: ConnectionID(rawValue: cid),
            packetNumber: packetNumber)
    }
}
