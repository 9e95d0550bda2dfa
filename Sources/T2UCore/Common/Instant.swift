// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// A point on a monotonic clock in nanoseconds. The core never reads a clock: the shell (or the
/// simulator's virtual clock) passes `Instant`s in, so every protocol decision is reproducible.
public struct Instant: Comparable, Hashable, Sendable, CustomStringConvertible {
    public var nanoseconds: Int64

    public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }

    public static let zero = Instant(nanoseconds: 0)
    /// Farther than any deadline: "no deadline".
    public static let distantFuture = Instant(nanoseconds: .max / 2)

    public static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.nanoseconds < rhs.nanoseconds }
    public static func + (lhs: Instant, rhs: Nanos) -> Instant { Instant(nanoseconds: lhs.nanoseconds &+ rhs.value) }
    public static func - (lhs: Instant, rhs: Nanos) -> Instant { Instant(nanoseconds: lhs.nanoseconds &- rhs.value) }
    public static func - (lhs: Instant, rhs: Instant) -> Nanos { Nanos(lhs.nanoseconds &- rhs.nanoseconds) }
    public static func += (lhs: inout Instant, rhs: Nanos) { lhs = lhs + rhs }

    public var description: String { "t+\(Double(nanoseconds) / 1e6)ms" }
}

/// A span of time in nanoseconds (cheap to add and compare on the per-packet path, unlike
/// `Swift.Duration`'s 128-bit arithmetic).
public struct Nanos: Comparable, Hashable, Sendable, AdditiveArithmetic, CustomStringConvertible {
    public var value: Int64

    public init(_ value: Int64) { self.value = value }

    public static let zero = Nanos(0)
    public static func nanoseconds(_ v: Int64) -> Nanos { Nanos(v) }
    public static func microseconds(_ v: Int64) -> Nanos { Nanos(v * 1_000) }
    public static func milliseconds(_ v: Int64) -> Nanos { Nanos(v * 1_000_000) }
    public static func seconds(_ v: Int64) -> Nanos { Nanos(v * 1_000_000_000) }
    public static func seconds(fractional v: Double) -> Nanos { Nanos(Int64(v * 1e9)) }

    public static func < (lhs: Nanos, rhs: Nanos) -> Bool { lhs.value < rhs.value }
    public static func + (lhs: Nanos, rhs: Nanos) -> Nanos { Nanos(lhs.value &+ rhs.value) }
    public static func - (lhs: Nanos, rhs: Nanos) -> Nanos { Nanos(lhs.value &- rhs.value) }
    public static func * (lhs: Nanos, rhs: Int64) -> Nanos { Nanos(lhs.value &* rhs) }
    public static func / (lhs: Nanos, rhs: Int64) -> Nanos { Nanos(lhs.value / rhs) }
    public func scaled(by factor: Double) -> Nanos { Nanos(Int64(Double(value) * factor)) }

    public var seconds: Double { Double(value) / 1e9 }
    public var milliseconds: Double { Double(value) / 1e6 }
    public var microseconds: Int64 { value / 1_000 }

    public var description: String { "\(milliseconds)ms" }
}
