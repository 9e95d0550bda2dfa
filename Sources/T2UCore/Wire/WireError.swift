// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// Why bytes from the network could not be parsed. Parsers throw these instead of trapping, so a
/// malformed packet is counted and dropped, never a crash.
package enum WireError: Error, Equatable, Sendable {
    /// The input ended while reading the named field.
    case truncated(String)
    /// A value does not fit in a QUIC variable-length integer (above `VarInt.max`).
    case varIntTooLarge
    case unknownFrameType(UInt64)
    /// Well-formed bytes with an impossible meaning, e.g. "ACK range underflow".
    case invalidFrame(String)
    case unknownPacketType(UInt8)
    case invalidHeader(String)
}
