// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import T2UCore

/// What happened in a simulation, in order; two runs with the same seed and the same hosts
/// produce identical traces. Digests are FNV-1a over the datagram's bytes.
package enum SimTraceEvent: Equatable, Sendable, CustomStringConvertible {
    /// A host sent a datagram; `copies` is how many the link will deliver (0: dropped).
    case transmit(at: Instant, from: NetAddress, to: NetAddress, size: Int, digest: UInt64, copies: Int)
    case deliver(at: Instant, from: NetAddress, to: NetAddress, size: Int, digest: UInt64)
    /// No host is (any longer) at the destination address.
    case undeliverable(at: Instant, from: NetAddress, to: NetAddress, size: Int)
    /// The sender's socket refused it (a send error): it never left the host.
    case refused(at: Instant, from: NetAddress, to: NetAddress, size: Int)
    case timeout(at: Instant, host: NetAddress)
    case action(at: Instant)
    case rebind(at: Instant, from: NetAddress, to: NetAddress)

    package var description: String {
        switch self {
        case let .transmit(at, from, to, size, digest, copies):
            return "\(at) send \(from) -> \(to) \(size)B #\(String(digest, radix: 16)) x\(copies)"
        case let .deliver(at, from, to, size, digest):
            return "\(at) recv \(from) -> \(to) \(size)B #\(String(digest, radix: 16))"
        case let .undeliverable(at, from, to, size):
            return "\(at) undeliverable \(from) -> \(to) \(size)B"
        case let .refused(at, from, to, size):
            return "\(at) refused \(from) -> \(to) \(size)B"
        case let .timeout(at, host):
            return "\(at) timeout \(host)"
        case let .action(at):
            return "\(at) action"
        case let .rebind(at, from, to):
            return "\(at) rebind \(from) => \(to)"
        }
    }

    static func digest(_ buffer: ByteBuffer) -> UInt64 {
        buffer.withUnsafeReadableBytes { bytes in
            var hash: UInt64 = 0xcbf2_9ce4_8422_2325
            for byte in bytes {
                hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
            }
            return hash
        }
    }
}
