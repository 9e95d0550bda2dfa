// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// What `GatewayMapper` asks its shell to do, or tells it.
package enum GatewayMapperAction: Equatable, Sendable {
    /// A UDP datagram to the gateway's port 5351 (PCP or NAT-PMP).
    case sendToGateway([UInt8])
    /// A UDP datagram to the SSDP group 239.255.255.250:1900.
    case sendSSDP([UInt8])
    /// An HTTP exchange: connect to `to`, write `request`, read the response until the peer
    /// closes (bounded by `HTTPResponse.maxLength` and a timeout), answer `receiveHTTP(id:)`.
    case http(id: UInt64, to: NetAddress, request: [UInt8])
    /// A mapping is granted, renewed to another address, or re-made: offer `external`.
    case mapped(GatewayMapping)
    /// The mapping is gone (not renewed, refused); another round starts.
    case unmapped(String)
    /// No protocol granted a mapping this round (why, per protocol); retried later.
    case unavailable(String)
}
