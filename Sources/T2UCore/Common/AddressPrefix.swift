// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// The network a source address belongs to for rate limits: its /24 (IPv4) or /64 (IPv6). A
/// spoofer or a host with many addresses in one network shares one budget.
package enum AddressPrefix: Hashable, Sendable {
    case v4(UInt32)
    case v6(UInt64)

    package init(_ address: NetAddress) {
        switch address.host {
        case .v4(let value): self = .v4(value & 0xFFFF_FF00)
        case .v6(let high, _): self = .v6(high)
        }
    }
}
