// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import T2UCore

/// Seeded byte-level mutator for bounded fuzz tests of parsers: the same seed yields the same
/// inputs, so a failure is reproduced by its seed and iteration.
///
/// Mutations (1 to 4 stacked per call): bit flips, "interesting" bytes (varint length
/// boundaries, 0x00, 0xFF), random bytes, truncation, insertion, deletion, duplication and
/// splicing with a donor input.
struct Mutator {
    let seed: UInt64
    private let entropy: SeededEntropy

    /// Bytes that sit on QUIC varint length boundaries or are otherwise edge values.
    static let interestingBytes: [UInt8] = [0x00, 0x01, 0x3F, 0x40, 0x7F, 0x80, 0xBF, 0xC0, 0xFE, 0xFF]

    init(seed: UInt64) {
        self.seed = seed
        self.entropy = SeededEntropy(seed: seed)
    }

    /// Uniform in 0..<bound (bound > 0).
    func int(below bound: Int) -> Int { Int(entropy.next(below: UInt64(bound))) }

    func chance(_ numerator: Int, in denominator: Int) -> Bool { int(below: denominator) < numerator }

    func element<T>(of array: [T]) -> T { array[int(below: array.count)] }

    func randomBytes(count: Int) -> [UInt8] { entropy.bytes(count) }

    /// Random bytes of random length in 0...maxLength.
    func randomBytes(maxLength: Int) -> [UInt8] { randomBytes(count: int(below: maxLength + 1)) }

    /// A mutated copy of `bytes`; `donor` (e.g. another corpus entry) feeds splices.
    func mutate(_ bytes: [UInt8], donor: [UInt8] = []) -> [UInt8] {
        var out = bytes
        for _ in 0..<(1 + int(below: 4)) { mutateOnce(&out, donor: donor) }
        return out
    }

    private func mutateOnce(_ bytes: inout [UInt8], donor: [UInt8]) {
        let count = bytes.count
        switch int(below: 9) {
        case 0 where count > 0:  // flip one bit
            bytes[int(below: count)] ^= 1 << UInt8(int(below: 8))
        case 1 where count > 0:  // interesting byte
            bytes[int(below: count)] = element(of: Self.interestingBytes)
        case 2 where count > 0:  // random byte
            bytes[int(below: count)] = UInt8(truncatingIfNeeded: entropy.nextUInt64())
        case 3:  // truncate
            bytes.removeLast(count == 0 ? 0 : int(below: count + 1))
        case 4:  // insert random or interesting bytes
            let insert = chance(1, in: 2) ? randomBytes(count: 1 + int(below: 8)) : [element(of: Self.interestingBytes)]
            bytes.insert(contentsOf: insert, at: int(below: count + 1))
        case 5 where count > 0:  // delete a run
            let start = int(below: count)
            bytes.removeSubrange(start..<(start + 1 + int(below: count - start)))
        case 6 where count > 0:  // duplicate a run in place
            let start = int(below: count)
            let run = Array(bytes[start..<(start + 1 + int(below: Swift.min(16, count - start)))])
            bytes.insert(contentsOf: run, at: int(below: count + 1))
        case 7 where !donor.isEmpty:  // splice: our prefix + donor suffix
            let cut = int(below: count + 1)
            let donorStart = int(below: donor.count)
            bytes = Array(bytes[..<cut]) + donor[donorStart...]
        case 8 where !donor.isEmpty:  // insert a run of the donor
            let start = int(below: donor.count)
            let run = donor[start..<(start + 1 + int(below: Swift.min(16, donor.count - start)))]
            bytes.insert(contentsOf: run, at: int(below: count + 1))
        default:  // precondition of the chosen mutation not met: append an interesting byte
            bytes.append(element(of: Self.interestingBytes))
        }
    }
}
