// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// Which paths a connection may use: the caller's contract (`directDisabled`, `relayFirst`,
/// direct only). The connection enforces it itself: datagrams from an excluded address are
/// dropped before they are read (so no reply, PATH_RESPONSE or passive migration can follow
/// them), and nothing is ever sent to one (handshake copies, probes, migrations).
public enum PathPolicy: Sendable, Equatable {
    /// Every path: direct candidates and the relay.
    case any
    /// Only the relay at this address, for the connection's whole life.
    case relayOnly(relay: NetAddress)
    /// The handshake only through the relay; once established, direct paths too.
    case relayFirst(relay: NetAddress)
    /// Never the relay at this address: direct or nothing.
    case directOnly(relay: NetAddress)

    /// Whether `address` may be used, before (`established` false) or after the handshake.
    public func allows(_ address: NetAddress, established: Bool) -> Bool {
        switch self {
        case .any: true
        case .relayOnly(let relay): address == relay
        case .relayFirst(let relay): established || address == relay
        case .directOnly(let relay): address != relay
        }
    }
}
