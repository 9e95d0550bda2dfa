// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import T2UCore

/// A sans-IO participant of a `SimulatedNetwork`: it is handed datagrams and timeouts with the
/// virtual time, and is polled for datagrams to send.
package protocol SimulatedHost: AnyObject {
    /// The address the host is registered under (its address before any NAT rebinding).
    var address: NetAddress { get }
    func receive(_ datagram: ByteBuffer, from: NetAddress, now: Instant)
    /// Writes the next datagram into `buffer` and returns its destination, or returns nil when
    /// there is nothing to send now.
    func pollTransmit(now: Instant, into buffer: inout ByteBuffer) -> NetAddress?
    /// When `handleTimeout` should next be called; nil when no timer is armed.
    func nextDeadline() -> Instant?
    func handleTimeout(now: Instant)
}
