// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// The outcome of a completed handshake: one traffic secret per direction, from which
/// `PacketProtection` derives the AEAD keys of each key phase.
package struct SessionKeys: Sendable {
    package let isInitiator: Bool
    let initiatorToResponder: [UInt8]
    let responderToInitiator: [UInt8]
    /// Final transcript hash; identifies this handshake (usable for channel binding).
    let handshakeHash: [UInt8]

    var sendSecret: [UInt8] { isInitiator ? initiatorToResponder : responderToInitiator }
    var receiveSecret: [UInt8] { isInitiator ? responderToInitiator : initiatorToResponder }
}
