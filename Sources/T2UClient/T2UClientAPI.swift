// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import T2UCore
import T2UNIO

// API CONTRACT of the client SDK (T2UClient). The C ABI (Sources/T2U), the `t2u` command and the
// demo code against these declarations; the implementation fills them in.

/// How the SDK reaches the server cloud and how patiently it retries.
public struct T2UClientOptions: Sendable {
    /// Server IP or host name (`t2u_init`'s svraddr).
    /// Server IP or host name; several as `h1:p1,h2:p2` (entries without a port use
    /// `serverPort`) or a name resolving to several: the SDK moves on when one stops answering.
    public var server: String
    public var serverPort: UInt16
    /// `svrkey`: the server's public key, 64 hex digits (`t2u-server --print-public-key`); a
    /// malformed one fails `T2UClient.init`. nil: trust the key the server states (a warning).
    public var serverKey: String?
    /// UDP ports the SDK may bind for P2P (`t2u_set_port_range`); nil: any.
    public var udpPortRange: ClosedRange<UInt16>?
    /// Retry period after a failure (the manual's 30 s).
    public var retryInterval: Nanos = .seconds(30)
    /// First retry after a failure comes sooner, then doubles up to `retryInterval`.
    public var firstRetryDelay: Nanos = .seconds(1)
    /// A link on the relay looks for a direct path again after this (a fresh introduction and
    /// path discovery inside the same connection: the device's UDP may have come back, a router
    /// been replaced, a clashing router be met by the other punch order), once more after the
    /// same time (both punch orders get a look), then twice as long each time up to
    /// `relayedLinkRetryMax`. 0: never. The 45 s outlast Linux's 30 s timeout of the
    /// last attempt's unanswered conntrack entries, which would clash again.
    public var relayedLinkRetry: Nanos = .seconds(45)
    public var relayedLinkRetryMax: Nanos = .seconds(300)
    /// No effect: the initiation rides the relay from the first flight (the first answer wins;
    /// direct paths are probed once the link is up). Kept so existing code still compiles.
    @available(
        *, deprecated, message: "the handshake goes through the relay from the first flight; remove this setting"
    )
    public var relayDeadline: Nanos = .milliseconds(50)
    /// LAN discovery: where `search` sends its probe and how long it listens.
    public var discoveryAddress: String = DiscoveryGroups.ipv4
    /// Also searched: this IPv6 group on every IPv6 interface (nil: IPv4 only). A device that
    /// answers on both is listed once, with its IPv4 address.
    public var discoveryAddressIPv6: String? = DiscoveryGroups.ipv6
    public var discoveryPort: UInt16 = DiscoveryGroups.port
    public var transport = TransportConfig()
    /// Diagnostic contract (`--relay-only`): the link only ever uses the server relay. Device
    /// punches, direct probes and migrations are refused by the connection itself.
    public var directDisabled = false
    /// Diagnostic contract (`--direct-only`): the link never uses the server relay; it is
    /// direct (WAN or LAN) or it fails. Excludes `directDisabled` and `relayFirst`.
    public var relayDisabled = false
    /// Test/diagnostic switch: the handshake goes through the relay only; direct paths are
    /// then probed inside the established connection (the relay -> direct upgrade, as when a
    /// NAT lets the direct handshake through too late).
    public var relayFirst = false
    /// Test/diagnostic: how long path discovery waits once the link is up (default: none).
    public var pathDiscoveryDelay: Nanos = .zero
    /// Test seam: an errno to fail this agent's sends to a destination with, as if the kernel
    /// had refused them (`EndpointDriver.sendFaultInjector`).
    public var sendFaultInjector: (@Sendable (NetAddress) -> CInt?)?
    /// Where device keys are pinned (trust on first use; a changed key is refused with -6).
    public var knownDevices: KnownDevicesLocation = .default
    /// TCP/TLS fallback to the server (its `tcp-port`), opened only while UDP to the server goes
    /// unanswered; relayed links then go over it too. nil: UDP only.
    public var serverStream: ServerStreamOptions?

    /// The paths a link may use, relative to the relay at `relay`; nil when the switches
    /// contradict each other (no path would be left).
    public func pathPolicy(relay: NetAddress) -> PathPolicy? {
        switch (directDisabled, relayDisabled, relayFirst) {
        case (false, false, false): .any
        case (true, false, _): .relayOnly(relay: relay)
        case (false, false, true): .relayFirst(relay: relay)
        case (false, true, false): .directOnly(relay: relay)
        case (true, true, _), (false, true, true): nil
        }
    }

    public init(server: String, serverPort: UInt16, serverKey: String? = nil) {
        self.server = server
        self.serverPort = serverPort
        self.serverKey = serverKey
    }
}

/// `t2u_status`: 1 connected, 0 not yet, -2 key rejected.
public enum ServerConnectionStatus: Int32, Sendable {
    case connected = 1
    case connecting = 0
    case keyRejected = -2
}

/// What the server knows of a device (`t2u_query_ex`).
public struct DeviceInfo: Sendable, Equatable {
    public var online: Bool
    /// The device's extra parameters (`t2usvr --extra`).
    public var extra: String
    /// Its public IP as the server sees it ("" when offline).
    public var publicIP: String
    /// Set when the key the server vouches differs from the pinned one (a query never pins).
    public var keyChange: DeviceKeyChange?
    public init(online: Bool, extra: String, publicIP: String, keyChange: DeviceKeyChange? = nil) {
        self.online = online
        self.extra = extra
        self.publicIP = publicIP
        self.keyChange = keyChange
    }
}

/// A port mapping request (`t2u_add_port`, `_ex`, `_v3`).
public struct PortMappingRequest: Sendable, Equatable {
    public var uuid: String
    /// Host on the device's LAN; "127.0.0.1" (default) is the device itself.
    public var remoteHost: String = "127.0.0.1"
    public var remotePort: UInt16
    /// 0: the OS picks.
    public var localPort: UInt16 = 0
    /// Device password (nil: none).
    public var password: String?
    public init(
        uuid: String, remoteHost: String = "127.0.0.1", remotePort: UInt16, localPort: UInt16 = 0,
        password: String? = nil
    ) {
        self.uuid = uuid
        self.remoteHost = remoteHost
        self.remotePort = remotePort
        self.localPort = localPort
        self.password = password
    }
}

/// `t2u_port_status` codes.
public enum PortStatus: Int32, Sendable {
    case connected = 1
    case connecting = 0
    case noSuchPort = -1
    case p2pFailed = -2
    case interrupted = -3
    case deviceOffline = -4
    case passwordRejected = -5
    /// Extension of the manual's codes: the device presented a key other than the pinned one
    /// (`T2UClientOptions.knownDevices`); refused, and retried at the usual interval.
    case deviceKeyChanged = -6
}

/// The path of a mapped port (`T2uNetStat`).
public struct PathInfo: Sendable, Equatable {
    public var peerIP: String
    public var peerPort: Int
    /// Relayed through the server.
    public var relayed: Bool
    /// Found on the same LAN (search/LAN candidate).
    public var lan: Bool
    public var lossRate: Float
    /// Estimated upstream bandwidth, KB/s.
    public var bandwidthKBps: Int
    public var rttMillis: Double
    /// Why the link is relayed, in words ("both sides symmetric NAT ...", "punching timed out
    /// after 4 candidates ..."); nil when it is not relayed. Not in the C ABI's `T2uNetStat`.
    public var relayReason: String?
    public init(
        peerIP: String, peerPort: Int, relayed: Bool, lan: Bool, lossRate: Float, bandwidthKBps: Int, rttMillis: Double,
        relayReason: String? = nil
    ) {
        self.peerIP = peerIP
        self.peerPort = peerPort
        self.relayed = relayed
        self.lan = lan
        self.lossRate = lossRate
        self.bandwidthKBps = bandwidthKBps
        self.rttMillis = rttMillis
        self.relayReason = relayReason
    }
}

/// `T2uNetRate`: stream bytes through a mapped port (or all, for port 0). Rates in KB/s.
public struct RateInfo: Sendable, Equatable {
    public var totalReceived: Int64 = 0
    public var totalSent: Int64 = 0
    /// Over the last few seconds.
    public var currentReceiveKBps: Float = 0
    public var currentSendKBps: Float = 0
    public var currentKBps: Float = 0
    /// Since the port was added.
    public var averageReceiveKBps: Float = 0
    public var averageSendKBps: Float = 0
    public var averageKBps: Float = 0
    public var seconds: Int32 = 0
    public init() {}
}

/// Callbacks of the manual (`OnConnect`, `OnDisconnect`).
public enum T2UClientEvent: Sendable, Equatable {
    /// The P2P link of a mapped port is up; `setupMillis` is how long it took.
    case connected(localPort: UInt16, setupMillis: Int)
    /// -2 P2P failed, -3 interrupted, -4 device offline, -5 password rejected, -6 device key changed.
    case disconnected(localPort: UInt16, code: Int32)
    /// The device's key differs from its pin: what happened and which line to delete if the
    /// change is intended. Followed by `disconnected(code: -6)`. Not a C callback.
    case deviceKeyChanged(localPort: UInt16, DeviceKeyChange)
    /// The link of a mapped port moved to another path (e.g. relay -> direct) inside the same
    /// connection; `millis` since the attempt started. Not a C callback.
    case pathChanged(localPort: UInt16, relayed: Bool, lan: Bool, millis: Int)
}

public enum T2UClientError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The local TCP port could not be opened (in use, or no permission): `t2u_add_port` -1.
    case localPortUnavailable(UInt16, reason: String)
    case invalidArgument(String)
    /// The server did not answer in time, or the SDK is shut down: `t2u_query` -1.
    case queryFailed(String)
    case shutDown
    /// The known-devices file cannot be used (malformed, unsafe, unreadable): the client does
    /// not start rather than connect without its pins.
    case knownDevices(KnownDevicesError)

    public var description: String {
        switch self {
        case .localPortUnavailable(let port, let reason): return "local port \(port) cannot be opened: \(reason)"
        case .invalidArgument(let what): return "invalid argument: \(what)"
        case .queryFailed(let why): return "query failed: \(why)"
        case .shutDown: return "the SDK is shut down"
        case .knownDevices(let error): return "\(error)"
        }
    }
}

/// A device found by LAN discovery (`t2u_search`: `uuid=...,ip=...`).
public struct DiscoveredDevice: Sendable, Equatable {
    public var uuid: String
    public var ip: String
    public init(uuid: String, ip: String) {
        self.uuid = uuid
        self.ip = ip
    }
}
