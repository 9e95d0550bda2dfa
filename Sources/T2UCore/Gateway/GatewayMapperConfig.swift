// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// Timing and limits of `GatewayMapper`.
package struct GatewayMapperConfig: Sendable {
    /// Lifetime asked for (PCP, NAT-PMP, UPnP lease); renewed at half of what was granted.
    package var lifetimeSeconds: UInt32 = 7200
    /// RFC 6886 §3.1: first answer awaited 250 ms, doubling with each retransmission. PCP uses
    /// the same schedule (RFC 6887's 3 s initial timeout is for the general case; the gateway
    /// is one hop away and shares the port with NAT-PMP).
    package var gatewayInitialTimeout = Nanos.milliseconds(250)
    /// PCP requests without any answer before NAT-PMP is tried too (some gateways drop PCP).
    package var pcpAttempts = 3
    /// NAT-PMP requests before the gateway protocols are given up (RFC 6886 allows 9: 64 s).
    package var natPMPAttempts = 5
    /// SSDP searches, one each `ssdpInterval`; UPnP is given up `ssdpInterval` after the last.
    package var ssdpAttempts = 3
    package var ssdpInterval = Nanos.seconds(1)
    /// UPnP AddPortMapping attempts on other external ports after ConflictInMappingEntry.
    package var upnpPortAttempts = 3
    /// After every protocol failed, everything is tried again after this long.
    package var retryAfterFailure = Nanos.seconds(300)
    /// Renewal of a permanent UPnP lease (re-adds it in case the router forgot it).
    package var permanentLeaseRenewal = Nanos.seconds(1800)
    /// Keep searching for a UPnP IGD after PCP or NAT-PMP granted (its own grant is then taken
    /// back): a diagnosis (`t2u netcheck`) wants every protocol the LAN speaks, an agent does not.
    package var searchUPnPAfterGrant = false
    /// UPnP NewPortMappingDescription.
    package var label = "t2u"

    package init() {}
}
