// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// SplitMix64 (Steele, Lea and Flood, 2014): a tiny seeded generator. It seeds `SeededEntropy`,
/// spreads retried gateway ports, and drives the delay line's losses and the tests' shuffles so a
/// run can be repeated exactly. Not for secrets.
package struct SplitMix64: RandomNumberGenerator, Sendable {
    /// The golden-ratio step between successive states.
    package static let increment: UInt64 = 0x9E37_79B9_7F4A_7C15
    private var state: UInt64

    package init(seed: UInt64) { state = seed }

    package mutating func next() -> UInt64 {
        state &+= Self.increment
        return Self.mix(state)
    }

    /// The output function alone: a well-spread 64-bit hash of `z`.
    package static func mix(_ z: UInt64) -> UInt64 {
        var z = z
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
