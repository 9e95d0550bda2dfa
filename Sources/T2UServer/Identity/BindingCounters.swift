// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// What the bindings decided, for `t2u_server_bindings_total{outcome}`.
package struct BindingCounters: Sendable, Equatable {
    /// First registration of a UUID: bound to its key.
    package var created: UInt64 = 0
    /// Moved to another key by a rotation proof of the bound key.
    package var rotated: UInt64 = 0
    /// Moved to another key by a vendor certificate (a re-flashed device).
    package var certified: UInt64 = 0
    /// Another key without proof: refused with `identityConflict`.
    package var refusedConflict: UInt64 = 0
    /// Closed enrollment without a valid certificate: refused with `notEnrolled`.
    package var refusedNotEnrolled: UInt64 = 0
    /// Released by the operator.
    package var released: UInt64 = 0
    /// Another server's change (database) taken over our own, or a stored binding refused
    /// because its MAC under the cluster key failed.
    package var overriddenByDatabase: UInt64 = 0
    package var badMAC: UInt64 = 0
    /// An unbound UUID while the database's bindings were not loaded yet (started while it was
    /// down): refused with `capacity` so the device retries, instead of taking the UUID blind.
    package var refusedAwaitingDatabase: UInt64 = 0

    package init() {}

    /// Rebinds of any kind.
    package var rebound: UInt64 { rotated + certified }
    package var refused: UInt64 { refusedConflict + refusedNotEnrolled + refusedAwaitingDatabase }

    /// (outcome label, count) in a fixed order, for the metrics exporter.
    package var outcomes: [(outcome: String, count: UInt64)] {
        [
            ("created", created), ("rotated", rotated), ("certified", certified), ("refused_conflict", refusedConflict),
            ("refused_not_enrolled", refusedNotEnrolled), ("released", released),
            ("overridden_by_database", overriddenByDatabase),
            ("bad_mac", badMAC), ("refused_awaiting_database", refusedAwaitingDatabase),
        ]
    }
}
