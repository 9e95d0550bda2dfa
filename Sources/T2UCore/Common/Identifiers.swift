// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// Identifies a connection at the receiver. Each side picks the ID that its peer writes into the
/// clear header of packets sent to it, so the shell demultiplexes by ID, never by address: a
/// NAT rebinding changes the address but not the connection.
public struct ConnectionID: Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public static func random(_ entropy: EntropySource) -> ConnectionID {
        ConnectionID(rawValue: entropy.nextUInt64())
    }
    public var description: String {
        let hex = String(rawValue, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}

/// A bidirectional stream: one per TCP connection carried. The initiator of the connection opens
/// even IDs, the responder odd ones, so both may open streams without coordination.
public struct StreamID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public static func < (lhs: StreamID, rhs: StreamID) -> Bool { lhs.rawValue < rhs.rawValue }
    public var isInitiatorOpened: Bool { rawValue & 1 == 0 }
    public var description: String { "stream#\(rawValue)" }
}

/// A monotonically increasing packet number; never reused within a connection (retransmission
/// sends the frames again in a new packet).
public typealias PacketNumber = UInt64
