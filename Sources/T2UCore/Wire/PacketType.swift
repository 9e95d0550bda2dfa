// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// The first byte of every UDP datagram an agent sends or receives. One socket carries server
/// signaling, NAT probes, hole punching and transport packets; this byte demultiplexes them.
///
/// Ranges: 0x01-0x0F transport (this module), 0x10-0x1F path/NAT probes, 0x20-0x5F server
/// signaling and relay. Anything else is dropped and counted by the shell.
package enum PacketType: UInt8, Sendable {
    case handshakeInitiation = 0x01
    case handshakeResponse = 0x02
    /// Authenticated refusal by the responder (e.g. wrong device password).
    case handshakeRejection = 0x03
    /// 1-RTT protected packet, key phase 0.
    case dataKeyPhase0 = 0x04
    /// 1-RTT protected packet, key phase 1 (after a key update).
    case dataKeyPhase1 = 0x05
    /// The responder's encrypted cookie, under load, for an initiation without a valid mac2.
    case cookieReply = 0x06

    package static func classify(_ firstByte: UInt8) -> PacketType? { PacketType(rawValue: firstByte) }
}
