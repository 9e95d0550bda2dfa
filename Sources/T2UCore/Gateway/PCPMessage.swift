// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// PCP (RFC 6887) MAP requests for UDP and the responses to MAP and ANNOUNCE, to port 5351.
package enum PCPMessage {
    /// §7: messages are at most 1100 bytes.
    package static let maxLength = 1100
    static let version: UInt8 = 2
    static let opAnnounce: UInt8 = 0
    static let opMap: UInt8 = 1
    static let udp: UInt8 = 17
    package static let nonceLength = 12

    /// §11.1 MAP for UDP `internalPort` from `client` (an IPv4 address, sent IPv4-mapped; it must
    /// be the request's source address). Lifetime 0 deletes the mapping of this nonce.
    package static func mapRequest(
        client: UInt32, nonce: [UInt8], internalPort: UInt16, suggestedExternalPort: UInt16,
        suggestedExternalAddress: UInt32, lifetime: UInt32
    ) -> [UInt8] {
        precondition(nonce.count == nonceLength)
        var out: [UInt8] = [version, opMap, 0, 0]
        out.appendGateway(lifetime)
        out += mappedIPv4(client)
        out += nonce
        out += [udp, 0, 0, 0]
        out.appendGateway(internalPort)
        out.appendGateway(suggestedExternalPort)
        out += suggestedExternalAddress == 0 ? [UInt8](repeating: 0, count: 16) : mappedIPv4(suggestedExternalAddress)
        return out
    }

    static func mappedIPv4(_ v: UInt32) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 10) + [0xff, 0xff]
        out.appendGateway(v)
        return out
    }

    package enum Response: Equatable, Sendable {
        case announce(result: PCPResultCode, epoch: UInt32)
        /// `externalAddress` is the IPv4 part of an IPv4-mapped address, nil when it is IPv6.
        case map(
            result: PCPResultCode, lifetime: UInt32, epoch: UInt32, nonce: [UInt8], internalPort: UInt16,
            externalPort: UInt16, externalAddress: UInt32?)
    }

    /// Parses a PCP response (version 2, R bit set). Options after the opcode data are ignored.
    package static func parse(_ bytes: [UInt8]) throws(GatewayParseError) -> Response {
        guard bytes.count <= maxLength else { throw .tooLarge(maxLength) }
        guard bytes.count >= 24 else { throw .truncated("PCP header") }
        guard bytes[0] == version else { throw .invalid("PCP version \(bytes[0])") }
        guard bytes[1] & 0x80 != 0 else { throw .unexpected("PCP request") }
        guard bytes.count % 4 == 0 else { throw .invalid("PCP length \(bytes.count) (not a multiple of 4)") }
        let result = PCPResultCode(rawValue: bytes[3])
        let lifetime = bytes.gatewayU32(at: 4)
        let epoch = bytes.gatewayU32(at: 8)
        switch bytes[1] & 0x7f {
        case opAnnounce:
            return .announce(result: result, epoch: epoch)
        case opMap:
            guard bytes.count >= 60 else {
                // §7.2: an error response may echo a truncated request; without the nonce it
                // cannot be matched to ours.
                throw .truncated("PCP MAP response")
            }
            guard bytes[36] == udp else { throw .unexpected("PCP MAP response for protocol \(bytes[36])") }
            let nonce = Array(bytes[24..<36])
            let address = Array(bytes[44..<60])
            let v4: UInt32? =
                address[0..<10].allSatisfy({ $0 == 0 }) && address[10] == 0xff && address[11] == 0xff
                ? address.gatewayU32(at: 12) : nil
            return .map(
                result: result, lifetime: lifetime, epoch: epoch, nonce: nonce, internalPort: bytes.gatewayU16(at: 40),
                externalPort: bytes.gatewayU16(at: 42), externalAddress: v4)
        case let op:
            throw .unexpected("PCP opcode \(op)")
        }
    }
}
