// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Logging
import NIOCore
import T2UCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A datagram (or GSO run) the kernel refused. It costs those datagrams only: the socket and
/// every other destination go on. Real hosts see these all the time: ENETUNREACH / EHOSTUNREACH
/// (a LAN candidate this host cannot route to), EPERM / EACCES (a local firewall), EADDRNOTAVAIL
/// (an interface went away), ENOBUFS (a full queue), EINVAL (a loopback-bound socket and a
/// non-local destination).
package struct SendFailure: Sendable, Equatable, CustomStringConvertible {
    package var errno: CInt
    package var destination: NetAddress
    /// Datagrams lost with it.
    package var datagrams: Int

    package init(errno: CInt, destination: NetAddress, datagrams: Int) {
        self.errno = errno
        self.destination = destination
        self.datagrams = datagrams
    }

    /// The errno's symbolic name where it is one of the usual ones, else its number.
    package var errnoName: String {
        switch errno {
        case ENETUNREACH: "ENETUNREACH"
        case EHOSTUNREACH: "EHOSTUNREACH"
        case EPERM: "EPERM"
        case EACCES: "EACCES"
        case EADDRNOTAVAIL: "EADDRNOTAVAIL"
        case ENOBUFS: "ENOBUFS"
        case EINVAL: "EINVAL"
        case EMSGSIZE: "EMSGSIZE"
        case ECONNREFUSED: "ECONNREFUSED"
        case EIO: "EIO"
        default: "errno \(errno)"
        }
    }

    package var description: String {
        "send to \(destination) failed: \(errnoName) (\(String(cString: strerror(errno))))"
    }
}

/// Logs send failures once per errno at warning level, then at most once per `interval` per
/// errno with the number suppressed since: a host that cannot route one candidate would
/// otherwise log every punch, and one that cannot route anything must still be visible.
struct SendFailureLog {
    static let interval: TimeAmount = .seconds(30)

    private var lastLogged: [CInt: NIODeadline] = [:]
    private var suppressed: [CInt: UInt64] = [:]

    mutating func record(_ failure: SendFailure, now: NIODeadline, logger: Logger) {
        if let last = lastLogged[failure.errno], now - last < Self.interval {
            suppressed[failure.errno, default: 0] &+= 1
            return
        }
        lastLogged[failure.errno] = now
        let skipped = suppressed.removeValue(forKey: failure.errno) ?? 0
        logger.warning(
            "UDP send failed; the datagram is dropped, the socket and other destinations carry on",
            metadata: [
                "error": "\(failure.errnoName)", "destination": "\(failure.destination)",
                "datagrams": "\(failure.datagrams)", "suppressedSinceLast": "\(skipped)",
                "hint": "\(Self.hint(failure.errno))",
            ])
    }

    /// What to check, in words, for the usual causes.
    static func hint(_ code: CInt) -> String {
        switch code {
        case ENETUNREACH, EHOSTUNREACH:
            "no route to this address from this host (an unreachable peer candidate is normal)"
        case EPERM, EACCES: "a local firewall rule or a broadcast address refused it"
        case EADDRNOTAVAIL: "the local address is gone (an interface went down or changed)"
        case ENOBUFS: "the interface queue is full; transient"
        case EINVAL: "the socket's local address cannot reach this destination (e.g. bound to loopback)"
        default: "see the error"
        }
    }
}
