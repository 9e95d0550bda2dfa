// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// Which protocol a gateway granted a mapping by.
public enum GatewayProtocol: String, Sendable, CaseIterable {
    case pcp = "PCP"
    case natPMP = "NAT-PMP"
    case upnp = "UPnP-IGD"
}

/// A UDP port mapping the gateway granted: datagrams to `external` reach our internal port.
public struct GatewayMapping: Equatable, Sendable, CustomStringConvertible {
    public var via: GatewayProtocol
    public var external: NetAddress
    /// What the gateway granted (0 for a permanent UPnP lease).
    public var lifetimeSeconds: UInt32

    public init(via: GatewayProtocol, external: NetAddress, lifetimeSeconds: UInt32) {
        self.via = via
        self.external = external
        self.lifetimeSeconds = lifetimeSeconds
    }

    public var description: String { "\(external) by \(via.rawValue) for \(lifetimeSeconds) s" }
}
