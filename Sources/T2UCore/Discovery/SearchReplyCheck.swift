// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore

/// The client's check of one datagram answering its SEARCH (docs/SECURITY.md §4). Replies are
/// unauthenticated: only one with our request ID, from a host on one of our own subnets, with
/// a valid UUID (`DeviceUUID`) that has no comma is kept, so a line of `t2u search` or of
/// `t2u_search`'s buffer (`uuid=...,ip=...`) never carries a newline or a comma from the wire.
package enum SearchReplyCheck {
    package struct Found: Equatable, Sendable {
        package var uuid: String
        /// Dotted quad or IPv6 text made from the address value, never from wire text.
        package var ip: String
    }

    package static func accept(
        _ datagram: ByteBuffer, requestID: UInt32, from source: NetAddress,
        subnets: [LocalSubnet]
    ) -> Found? {
        guard case .searchReply(let id, let uuid, let address)? = try? SignalingMessage.parse(datagram),
            id == requestID,
            DeviceUUID.isValid(uuid), !uuid.utf8.contains(UInt8(ascii: ",")),
            subnets.contains(where: { $0.contains(source.host) })
        else { return nil }
        // The address the device names, when it is on our LAN; else (0.0.0.0: it does not know,
        // or anything off our subnets) where the reply came from.
        let named = subnets.containsUnicast(address.host) ? address : source
        return Found(uuid: uuid, ip: named.hostString)
    }
}
