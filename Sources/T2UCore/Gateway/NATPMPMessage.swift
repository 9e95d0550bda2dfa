// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// NAT-PMP (RFC 6886) requests and responses, UDP only, to the gateway's port 5351.
package enum NATPMPMessage {
    package static let port: UInt16 = 5351
    /// RFC 6886 §3.5: a response longer than this is not NAT-PMP.
    package static let maxLength = 16

    /// §3.2: "what is my external address?"
    package static func externalAddressRequest() -> [UInt8] { [0, 0] }

    /// §3.3: map UDP `internalPort` (lifetime 0 with external port 0: remove the mapping).
    package static func mapUDPRequest(internalPort: UInt16, suggestedExternalPort: UInt16, lifetime: UInt32) -> [UInt8]
    {
        var out: [UInt8] = [0, 1, 0, 0]
        out.appendGateway(internalPort)
        out.appendGateway(suggestedExternalPort)
        out.appendGateway(lifetime)
        return out
    }

    package enum Response: Equatable, Sendable {
        case externalAddress(result: UInt16, epoch: UInt32, address: UInt32)
        case mapUDP(result: UInt16, epoch: UInt32, internalPort: UInt16, externalPort: UInt16, lifetime: UInt32)
    }

    /// Result code 1 (also what a NAT-PMP-only gateway answers to a PCP request, §3.5/RFC 6887 §9).
    package static let unsupportedVersion: UInt16 = 1

    /// Parses a response (version 0). Fails on requests, TCP map responses and bad lengths.
    package static func parse(_ bytes: [UInt8]) throws(GatewayParseError) -> Response {
        guard bytes.count <= maxLength else { throw .tooLarge(maxLength) }
        guard bytes.count >= 8 else { throw .truncated("NAT-PMP header") }
        guard bytes[0] == 0 else { throw .invalid("NAT-PMP version \(bytes[0])") }
        let result = bytes.gatewayU16(at: 2)
        let epoch = bytes.gatewayU32(at: 4)
        switch bytes[1] {
        case 128:
            // An error answer may stop after the epoch (§3.5: unsupported version carries 8 bytes).
            guard bytes.count >= 12 || result != 0 else { throw .truncated("NAT-PMP external address response") }
            return .externalAddress(
                result: result, epoch: epoch, address: bytes.count >= 12 ? bytes.gatewayU32(at: 8) : 0)
        case 129:
            guard bytes.count >= 16 || result != 0 else { throw .truncated("NAT-PMP map response") }
            guard bytes.count >= 16 else {
                return .mapUDP(result: result, epoch: epoch, internalPort: 0, externalPort: 0, lifetime: 0)
            }
            return .mapUDP(
                result: result, epoch: epoch, internalPort: bytes.gatewayU16(at: 8),
                externalPort: bytes.gatewayU16(at: 10), lifetime: bytes.gatewayU32(at: 12))
        case let op where op < 128: throw .unexpected("NAT-PMP request (opcode \(op))")
        case let op: throw .unexpected("NAT-PMP response opcode \(op)")
        }
    }

    /// Words for a result code (RFC 6886 §3.5).
    package static func describe(result: UInt16) -> String {
        switch result {
        case 0: return "success"
        case 1: return "unsupported version"
        case 2: return "not authorized (mapping disabled on the gateway)"
        case 3: return "network failure (gateway has no external address)"
        case 4: return "out of resources"
        case 5: return "unsupported opcode"
        default: return "result code \(result)"
        }
    }
}
