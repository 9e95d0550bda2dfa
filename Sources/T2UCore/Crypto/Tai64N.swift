// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// A TAI64N timestamp (seconds + 2^62 as 8 bytes, nanoseconds as 4, big endian), as WireGuard
/// puts in its initiation: the responder refuses an initiation not newer than the last one it
/// accepted from the same key. The core never reads a clock: the caller passes its wall clock.
package struct Tai64N: Comparable, Hashable, Sendable, CustomStringConvertible {
    package static let length = 12
    static let epochOffset: UInt64 = 1 << 62

    package let seconds: UInt64
    package let nanoseconds: UInt32

    /// From Unix time; `nanoseconds` must be below 1e9 (larger values carry into seconds).
    package init(unixSeconds: Int64, nanoseconds: UInt32) {
        let carry = Int64(nanoseconds / 1_000_000_000)
        self.seconds = Self.epochOffset &+ UInt64(bitPattern: unixSeconds &+ carry)
        self.nanoseconds = nanoseconds % 1_000_000_000
    }

    /// From nanoseconds since the Unix epoch (what the shells' wall clocks give).
    package init(unixNanoseconds: Int64) {
        var whole = unixNanoseconds / 1_000_000_000
        var fraction = unixNanoseconds % 1_000_000_000
        if fraction < 0 {  // floor for times before 1970
            whole -= 1
            fraction += 1_000_000_000
        }
        self.init(unixSeconds: whole, nanoseconds: UInt32(fraction))
    }

    init(seconds: UInt64, nanoseconds: UInt32) {
        self.seconds = seconds
        self.nanoseconds = nanoseconds
    }

    /// The next representable instant (keeps timestamps of one sender strictly increasing).
    package var successor: Tai64N {
        nanoseconds < 999_999_999
            ? Tai64N(seconds: seconds, nanoseconds: nanoseconds + 1) : Tai64N(seconds: seconds &+ 1, nanoseconds: 0)
    }

    package var bytes: [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(Self.length)
        out.appendBigEndian(seconds)
        for shift in stride(from: 24, through: 0, by: -8) {
            out.append(UInt8(truncatingIfNeeded: nanoseconds >> UInt32(shift)))
        }
        return out
    }

    /// Parses 12 bytes; nanoseconds of 1e9 or more are not a valid TAI64N label.
    init(bytes: ArraySlice<UInt8>) throws(HandshakeError) {
        guard bytes.count == Self.length else { throw .malformed("timestamp of \(bytes.count) bytes") }
        let start = bytes.startIndex
        let seconds = bytes[start..<(start + 8)].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        let nanoseconds = bytes[(start + 8)..<(start + 12)].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        guard nanoseconds < 1_000_000_000 else { throw .malformed("timestamp nanoseconds \(nanoseconds)") }
        self.init(seconds: seconds, nanoseconds: nanoseconds)
    }

    /// Signed distance in nanoseconds, saturating (for the reordering allowance).
    func nanoseconds(since other: Tai64N) -> Int64 {
        let seconds = Int64(truncatingIfNeeded: self.seconds &- other.seconds)
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow || seconds.magnitude > 9_000_000_000 { return seconds < 0 ? .min / 2 : .max / 2 }
        return scaled + Int64(nanoseconds) - Int64(other.nanoseconds)
    }

    package static func < (lhs: Tai64N, rhs: Tai64N) -> Bool {
        (lhs.seconds, lhs.nanoseconds) < (rhs.seconds, rhs.nanoseconds)
    }

    package var description: String { "tai64n(\(Int64(bitPattern: seconds &- Self.epochOffset)).\(nanoseconds))" }
}
