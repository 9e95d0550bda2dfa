// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// Why an answer from the LAN (NAT-PMP, PCP, SSDP, IGD description, SOAP) was rejected. Any host
/// on the LAN can send these, so every parser fails with one of these instead of trusting it.
package enum GatewayParseError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Larger than the protocol allows (limit in bytes).
    case tooLarge(Int)
    /// Shorter than the fixed layout needs.
    case truncated(String)
    /// A field has a value the protocol does not allow.
    case invalid(String)
    /// A well-formed message of a kind we did not ask for.
    case unexpected(String)

    package var description: String {
        switch self {
        case .tooLarge(let limit): return "larger than \(limit) bytes"
        case .truncated(let what): return "truncated \(what)"
        case .invalid(let what): return "invalid \(what)"
        case .unexpected(let what): return "unexpected \(what)"
        }
    }
}

/// Big-endian reads at fixed offsets of a datagram whose length the caller checked.
extension Array where Element == UInt8 {
    func gatewayU16(at i: Int) -> UInt16 { UInt16(self[i]) << 8 | UInt16(self[i + 1]) }
    func gatewayU32(at i: Int) -> UInt32 {
        UInt32(self[i]) << 24 | UInt32(self[i + 1]) << 16 | UInt32(self[i + 2]) << 8 | UInt32(self[i + 3])
    }
    mutating func appendGateway(_ v: UInt16) { append(contentsOf: [UInt8(v >> 8), UInt8(v & 0xff)]) }
    mutating func appendGateway(_ v: UInt32) {
        append(contentsOf: [UInt8(v >> 24), UInt8(v >> 16 & 0xff), UInt8(v >> 8 & 0xff), UInt8(v & 0xff)])
    }
}
