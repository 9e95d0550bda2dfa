// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// The one rule for UUIDs (device UUIDs and client instance IDs) in every parser and API entry
/// point (docs/SECURITY.md §4): printable ASCII without spaces (0x21-0x7E), 1-64 bytes. Nothing
/// that prints, logs or keys a table by a UUID ever sees control bytes or escapes.
package enum DeviceUUID {
    package static func isValid(_ uuid: String) -> Bool {
        isValid(bytes: uuid.utf8)
    }

    package static func isValid<C: Collection>(bytes: C) -> Bool where C.Element == UInt8 {
        guard bytes.count >= 1, bytes.count <= SignalingLimits.maxUUIDLength else { return false }
        return bytes.allSatisfy { $0 >= 0x21 && $0 <= 0x7E }
    }

    /// What a caller is told when a UUID breaks the rule.
    package static let requirement =
        "a UUID must be 1-\(SignalingLimits.maxUUIDLength) printable ASCII characters without spaces"
}
