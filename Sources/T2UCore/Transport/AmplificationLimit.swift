// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// RFC 9000 §8: until a new peer address (NAT rebinding, path switch seen on receive) answers
/// a PATH_CHALLENGE, send it at most 3x the bytes received from it, so a spoofed source
/// address cannot turn the connection into a reflector toward a victim.
struct AmplificationLimit: Sendable {
    static let factor = 3
    let address: NetAddress
    private(set) var received: Int
    private(set) var sent = 0

    init(address: NetAddress, received: Int) {
        self.address = address
        self.received = received
    }

    func allows(_ bytes: Int) -> Bool { sent + bytes <= received * Self.factor }

    mutating func onReceived(_ bytes: Int) { received += bytes }
    mutating func onSent(_ bytes: Int) { sent += bytes }
}
