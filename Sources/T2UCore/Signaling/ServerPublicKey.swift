// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// The manual's `svrkey`: the server's X25519 public key as 64 hex digits (docs/SECURITY.md §2).
package enum ServerPublicKey {
    package static let requirement =
        "svrkey must be the server's public key: 64 hex digits, printed by `t2u-server --print-public-key`"

    package struct Invalid: Error, Equatable, Sendable, CustomStringConvertible {
        package var description: String { ServerPublicKey.requirement }
    }

    /// nil or "" (no key: the agent trusts the key the server states, unauthenticated) -> nil;
    /// 64 hex digits -> the 32 key bytes; anything else fails closed.
    package static func parse(_ text: String?) throws(Invalid) -> [UInt8]? {
        guard let text else { return nil }
        let trimmed = text.trimmingSpaces
        if trimmed.isEmpty { return nil }
        guard trimmed.utf8.count == 2 * SignalingLimits.publicKeyLength, let key = Hex.decode(trimmed) else {
            throw Invalid()
        }
        return key
    }
}
