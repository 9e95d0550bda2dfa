// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// Where the core gets random bytes (connection IDs, ephemeral keys, path challenges, jitter).
/// Production uses the system CSPRNG; the simulator injects a seeded generator so a run is
/// reproducible from its seed.
public protocol EntropySource: AnyObject {
    func nextUInt64() -> UInt64
}

extension EntropySource {
    public func fill(_ buffer: UnsafeMutableRawBufferPointer) {
        var index = 0
        while index < buffer.count {
            var word = nextUInt64()
            let n = Swift.min(8, buffer.count - index)
            withUnsafeBytes(of: &word) { src in
                for i in 0..<n { buffer[index + i] = src[i] }
            }
            index += n
        }
    }

    public func bytes(_ count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        out.withUnsafeMutableBytes { fill($0) }
        return out
    }

    /// Uniform in 0..<bound (bound > 0).
    public func next(below bound: UInt64) -> UInt64 {
        precondition(bound > 0)
        return nextUInt64().multipliedFullWidth(by: bound).high
    }

    /// Uniform in [0, 1).
    public func nextUnitDouble() -> Double {
        Double(nextUInt64() >> 11) * (1.0 / 9_007_199_254_740_992.0)
    }
}

/// The operating system's CSPRNG.
public final class SystemEntropy: EntropySource, Sendable {
    public init() {}
    public func nextUInt64() -> UInt64 {
        var generator = SystemRandomNumberGenerator()
        return generator.next()
    }
}

/// xoshiro256** seeded through splitmix64: fast, reproducible, not for secrets outside tests.
public final class SeededEntropy: EntropySource {
    private var state: (UInt64, UInt64, UInt64, UInt64)
    public let seed: UInt64

    public init(seed: UInt64) {
        self.seed = seed
        var splitmix = SplitMix64(seed: seed)
        state = (splitmix.next(), splitmix.next(), splitmix.next(), splitmix.next())
    }

    public func nextUInt64() -> UInt64 {
        let result = ((state.1 &* 5) << 7 | (state.1 &* 5) >> 57) &* 9
        let t = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= t
        state.3 = state.3 << 45 | state.3 >> 19
        return result
    }
}
