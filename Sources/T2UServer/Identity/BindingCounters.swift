// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// What the bindings decided, for `t2u_server_bindings_total{outcome}`.
public struct BindingCounters: Sendable, Equatable {
    /// First registration of a UUID: bound to its key.
    public var created: UInt64 = 0
    /// Moved to another key by a rotation proof of the bound key.
    public var rotated: UInt64 = 0
    /// Moved to another key by a vendor certificate (a re-flashed device).
    public var certified: UInt64 = 0
    /// Another key without proof: refused with `identityConflict`.
    public var refusedConflict: UInt64 = 0
    /// Closed enrollment without a valid certificate: refused with `notEnrolled`.
    public var refusedNotEnrolled: UInt64 = 0
    /// Released by the operator.
    public var released: UInt64 = 0
    /// Another server's change (database) taken over our own, or a stored binding refused
    /// because its MAC under the cluster key failed.
    public var overriddenByDatabase: UInt64 = 0
    public var badMAC: UInt64 = 0
    /// An unbound UUID while the database's bindings were not loaded yet (started while it was
    /// down): refused with `capacity` so the device retries, instead of taking the UUID blind.
    public var refusedAwaitingDatabase: UInt64 = 0

    public init() {}

    /// Rebinds of any kind.
    public var rebound: UInt64 { rotated + certified }
    public var refused: UInt64 { refusedConflict + refusedNotEnrolled + refusedAwaitingDatabase }

    /// (outcome label, count) in a fixed order, for the metrics exporter.
    public var outcomes: [(outcome: String, count: UInt64)] {
        [
            ("created", created), ("rotated", rotated), ("certified", certified), ("refused_conflict", refusedConflict),
            ("refused_not_enrolled", refusedNotEnrolled), ("released", released),
            ("overridden_by_database", overriddenByDatabase),
            ("bad_mac", badMAC), ("refused_awaiting_database", refusedAwaitingDatabase),
        ]
    }
}
