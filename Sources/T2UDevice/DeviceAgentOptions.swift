// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import T2UCore
import T2UNIO

/// Everything `t2usvr` is started with.
public struct DeviceAgentOptions: Sendable {
    public var uuid: String
    /// Server IP or host name and port; several as `h1:p1,h2:p2` (an entry without a port uses
    /// `serverPort`), or a name resolving to several addresses: tried in turn when one fails.
    public var server: String
    public var serverPort: UInt16
    /// `svrkey`: the server's public key, 64 hex digits (`t2u-server --print-public-key`).
    /// nil: trust the key the server states (unauthenticated; a warning says how to pin it).
    public var serverKey: String?
    /// A vendor certificate for closed enrollment (sent as is); nil: none.
    public var certificate: [UInt8]?
    /// Key rotation: the key this UUID was bound to; each REGISTER carries its proof. nil: none.
    public var rotatingFrom: StaticIdentity?
    /// Called (on the agent's event loop) each time the server accepts a registration; key
    /// rotation commits the new key file on the first one.
    public var onRegistered: (@Sendable () -> Void)?
    /// Device password required of clients (mixed into the handshake as PSK; never sent).
    public var password: String?
    /// Extra parameters returned by `t2u_query_ex`.
    public var extra: String = ""
    /// LAN hosts/ports clients may reach through `add_port_ex`/`_v3` (ForwardingPolicy entries);
    /// the device itself is always allowed.
    public var allow: [String] = []
    /// Where the device's X25519 key pair lives (created on first start). nil: in memory only.
    public var statePath: String?
    /// UDP port of the agent's socket (0: any).
    public var udpPort: UInt16 = 0
    /// Answer LAN discovery on this multicast group and port (nil: off).
    public var discoveryAddress: String? = DiscoveryGroups.ipv4
    /// Answer LAN discovery on this IPv6 group as well (joined on every IPv6 interface; nil:
    /// IPv4 only). Off with `discoveryAddress`.
    public var discoveryAddressIPv6: String? = DiscoveryGroups.ipv6
    public var discoveryPort: UInt16 = DiscoveryGroups.port
    /// The host's subnets, the scope of punches toward client candidates and of discovery
    /// answers (docs/SECURITY.md §4). nil: read from the interfaces at each use.
    public var localSubnets: [LocalSubnet]?
    public var transport = TransportConfig()
    /// Punching: among others how many auxiliary sockets the birthday role may open (0: none,
    /// for devices short of sockets or memory; cone x symmetric then uses the relay).
    public var traversal = TraversalConfig()
    /// Ask the LAN's gateway (PCP, NAT-PMP, UPnP-IGD) to map the agent's UDP port and offer the
    /// mapped address as a candidate: behind a router that grants it, even a symmetric NAT is
    /// crossed directly. Off when the server is on loopback (nothing to cross).
    public var portMapping = true
    /// TCP/TLS fallback to the server (its `tcp-port`), opened only while UDP to the server goes
    /// unanswered; nil: UDP only.
    public var serverStream: ServerStreamOptions?
    /// Test seam: an errno to fail this agent's sends to a destination with, as if the kernel
    /// had refused them (`EndpointDriver.sendFaultInjector`).
    public var sendFaultInjector: (@Sendable (NetAddress) -> CInt?)?

    public init(uuid: String, server: String, serverPort: UInt16, serverKey: String? = nil) {
        self.uuid = uuid
        self.server = server
        self.serverPort = serverPort
        self.serverKey = serverKey
    }
}
