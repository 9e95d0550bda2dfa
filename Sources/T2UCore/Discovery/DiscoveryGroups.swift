// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// Where LAN discovery meets: SEARCH goes to these groups (on one port, 7011 by default) and
/// devices listen on both. IPv6's is link-local scope: the search goes out on every IPv6
/// interface and is answered from the sender's link.
package enum DiscoveryGroups {
    package static let ipv4 = "239.255.75.50"
    package static let ipv6 = "ff02::7011"
    package static let port: UInt16 = 7011
}
