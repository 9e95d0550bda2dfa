// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// What the watchdog names when the demo takes too long.
package actor DemoProgress {
    package init() {}
    package private(set) var phase = "starting"
    package func set(_ phase: String) { self.phase = phase }
}
