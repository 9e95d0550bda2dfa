// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore

/// The opener datagram: type(1) = 0x10, session ID(8), then a few random bytes (so punches of
/// one session differ). Transport peers drop the 0x10 range; agents recognise it before the
/// transport sees it. Unauthenticated: at most it makes a client probe the sender's address.
package enum TraversalPunch {
    package static let type: UInt8 = 0x10
    package static let length = 1 + 8 + 4

    package static func write(sessionID: UInt64, entropy: EntropySource, into buffer: inout ByteBuffer) {
        buffer.writeMultipleIntegers(type, sessionID, UInt32(truncatingIfNeeded: entropy.nextUInt64()))
    }

    /// Whether `datagram` is a punch; `sessionID` nil for a bare 1-byte punch (older devices).
    package static func parse(_ datagram: ByteBuffer) -> (isPunch: Bool, sessionID: UInt64?) {
        guard datagram.getInteger(at: datagram.readerIndex, as: UInt8.self) == type else { return (false, nil) }
        return (true, datagram.getInteger(at: datagram.readerIndex + 1, as: UInt64.self))
    }
}
