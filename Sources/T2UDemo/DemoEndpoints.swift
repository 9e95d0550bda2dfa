// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// Where an outside client finds the demo's server and device while `t2u demo --serve` runs.
package struct DemoEndpoints: Sendable {
    package var serverPort: Int
    package var observationPort: Int
    package var uuid: String
    /// The device's TCP echo service (on the device, 127.0.0.1).
    package var servicePort: Int
}
