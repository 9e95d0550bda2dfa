// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import T2UCore
import T2USim

/// Sends every datagram back to where it came from.
final class EchoHost: SimulatedHost {
    let address: NetAddress
    private(set) var sources: [NetAddress] = []
    private var pending: [(ByteBuffer, NetAddress)] = []

    init(address: NetAddress) { self.address = address }

    func receive(_ datagram: ByteBuffer, from: NetAddress, now: Instant) {
        sources.append(from)
        pending.append((datagram, from))
    }

    func pollTransmit(now: Instant, into buffer: inout ByteBuffer) -> NetAddress? {
        guard !pending.isEmpty else { return nil }
        var (datagram, destination) = pending.removeFirst()
        buffer.writeBuffer(&datagram)
        return destination
    }

    func nextDeadline() -> Instant? { nil }
    func handleTimeout(now: Instant) {}
}

/// Sends `count` numbered datagrams of `size` bytes to `target`, one every `interval`, and
/// records the replies.
final class PingHost: SimulatedHost {
    let address: NetAddress
    let target: NetAddress
    let count: Int
    let interval: Nanos
    let size: Int
    private(set) var sent: [Instant] = []
    private(set) var replies: [(sequence: Int, at: Instant, from: NetAddress)] = []
    private var nextSend: Instant
    private var due = false

    init(address: NetAddress, target: NetAddress, count: Int, interval: Nanos, size: Int = 100, start: Instant = .zero)
    {
        self.address = address
        self.target = target
        self.count = count
        self.interval = interval
        self.size = max(size, 4)
        self.nextSend = start
    }

    var done: Bool { replies.count >= count }

    func receive(_ datagram: ByteBuffer, from: NetAddress, now: Instant) {
        guard let sequence = datagram.getInteger(at: datagram.readerIndex, as: UInt32.self) else { return }
        replies.append((Int(sequence), now, from))
    }

    func pollTransmit(now: Instant, into buffer: inout ByteBuffer) -> NetAddress? {
        guard due else { return nil }
        due = false
        buffer.writeInteger(UInt32(sent.count))
        buffer.writeRepeatingByte(UInt8(truncatingIfNeeded: sent.count), count: size - 4)
        sent.append(now)
        nextSend = now + interval
        return target
    }

    func nextDeadline() -> Instant? { sent.count < count && !due ? nextSend : nil }

    func handleTimeout(now: Instant) { due = true }
}

/// A broken host: its timer is always due and handling it never re-arms it to the future.
final class StuckTimerHost: SimulatedHost {
    let address: NetAddress
    init(address: NetAddress) { self.address = address }
    func receive(_ datagram: ByteBuffer, from: NetAddress, now: Instant) {}
    func pollTransmit(now: Instant, into buffer: inout ByteBuffer) -> NetAddress? { nil }
    func nextDeadline() -> Instant? { .zero }
    func handleTimeout(now: Instant) {}
}
