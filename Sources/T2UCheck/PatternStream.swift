// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// xorshift64 bytes, produced in any slice sizes: the sender and the verifier each run one.
package struct PatternStream {
    private var state: UInt64
    private var word: UInt64 = 0
    private var left = 0

    package init(seed: UInt64) { state = seed | 1 }

    package mutating func fill(_ buffer: UnsafeMutableRawBufferPointer) {
        for index in buffer.indices {
            if left == 0 {
                state ^= state << 13
                state ^= state >> 7
                state ^= state << 17
                word = state
                left = 8
            }
            buffer[index] = UInt8(truncatingIfNeeded: word)
            word >>= 8
            left -= 1
        }
    }
}
