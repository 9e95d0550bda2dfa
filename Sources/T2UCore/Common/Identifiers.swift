// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// Identifies a connection at the receiver. Each side picks the ID that its peer writes into the
/// clear header of packets sent to it, so the shell demultiplexes by ID, never by address: a
/// NAT rebinding changes the address but not the connection.
package struct ConnectionID: Hashable, Sendable, CustomStringConvertible {
    package var rawValue: UInt64
    package init(rawValue: UInt64) { self.rawValue = rawValue }
    package static func random(_ entropy: EntropySource) -> ConnectionID {
        ConnectionID(rawValue: entropy.nextUInt64())
    }
    package var description: String {
        let hex = String(rawValue, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}

/// A bidirectional stream: one per TCP connection carried. The initiator of the connection opens
/// even IDs, the responder odd ones, so both may open streams without coordination.
package struct StreamID: Hashable, Comparable, Sendable, CustomStringConvertible {
    package var rawValue: UInt64
    package init(rawValue: UInt64) { self.rawValue = rawValue }
    package static func < (lhs: StreamID, rhs: StreamID) -> Bool { lhs.rawValue < rhs.rawValue }
    package var isInitiatorOpened: Bool { rawValue & 1 == 0 }
    package var description: String { "stream#\(rawValue)" }
}

/// A monotonically increasing packet number; never reused within a connection (retransmission
/// sends the frames again in a new packet).
package typealias PacketNumber = UInt64
