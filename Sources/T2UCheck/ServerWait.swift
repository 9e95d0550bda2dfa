// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import T2UClient

/// Waits up to `seconds` for the server connection to settle; returns the last status seen.
package func waitForServer(_ client: T2UClient, seconds: Double) async -> ServerConnectionStatus {
    let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
    var status = await client.status()
    while status == .connecting && ContinuousClock.now < deadline {
        try? await Task.sleep(for: .milliseconds(100))
        status = await client.status()
    }
    return status
}
