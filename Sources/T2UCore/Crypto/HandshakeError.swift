// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// Why a handshake failed. Untrusted bytes only ever produce these typed errors.
package enum HandshakeError: Error, Equatable, Sendable {
    /// The bytes do not have the shape of the expected handshake message.
    case malformed(String)
    /// AEAD or MAC failure: the message is not from the pinned peer, or was tampered with.
    case authenticationFailed
    /// A key given by the caller or the peer is unusable (wrong length, low-order point).
    case invalidKey(String)
    /// The initiation's timestamp is not newer than one already accepted from its key.
    case replayed
}

/// Carried, authenticated, in a `handshakeRejection` message.
package enum HandshakeRejectionReason: UInt8, Sendable {
    case passwordRejected = 1
    case busy = 2
}
