// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

package struct DemoPathResult: Sendable {
    /// "direct", "LAN" or "relay", as the SDK reports the path.
    package var path: String
    package var setupMillis: Int?
    package var bytes: UInt64
    package var seconds: Double
    package var verified: Bool
}
