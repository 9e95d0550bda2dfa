// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore

/// The plaintext of REGISTERED's encrypted payload: token(8) keepaliveSeconds(2) observed address.
/// The token is the channel ID of every later SEALED packet.
package struct RegisteredPayload: Equatable, Sendable {
    package var token: UInt64
    package var keepaliveSeconds: UInt16
    package var observed: NetAddress

    package init(token: UInt64, keepaliveSeconds: UInt16, observed: NetAddress) {
        self.token = token
        self.keepaliveSeconds = keepaliveSeconds
        self.observed = observed
    }

    package func encoded() -> [UInt8] {
        var buffer = ByteBufferAllocator().buffer(capacity: 32)
        buffer.writeMultipleIntegers(token, keepaliveSeconds)
        buffer.writeSignalingAddress(observed)
        return Array(buffer.readableBytesView)
    }

    package static func parse(_ bytes: [UInt8]) throws(SignalingParseError) -> RegisteredPayload {
        var r = SignalingReader(buffer: ByteBuffer(bytes: bytes))
        let token = try r.u64("token")
        let keepalive = try r.u16("keepalive")
        let observed = try r.address("observed")
        guard r.buffer.readableBytes == 0 else { throw .invalid("trailing bytes") }
        return RegisteredPayload(token: token, keepaliveSeconds: keepalive, observed: observed)
    }
}
