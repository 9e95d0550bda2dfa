// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// Sent packets indexed by packet number in a ring buffer. Packet numbers are sent in increasing
/// order, so slot `pn - basePacketNumber` holds packet `pn` (nil once acknowledged, declared lost,
/// or never sent). Lookup and removal are O(1); the front is trimmed past empty slots, so memory
/// follows the packets actually outstanding.
struct SentPacketQueue<Payload> {
    private var slots: [SentPacket<Payload>?]
    private var head = 0
    /// Slots in use from `head`, including empty ones between live packets.
    private(set) var span = 0
    /// Packet number stored at `head`.
    private(set) var basePacketNumber: PacketNumber = 0
    /// Live (tracked) packets.
    private(set) var count = 0

    init(capacity: Int = 64) {
        var cap = 16
        while cap < capacity { cap <<= 1 }
        slots = Array(repeating: nil, count: cap)
    }

    var isEmpty: Bool { count == 0 }
    /// One past the highest packet number slot.
    var endPacketNumber: PacketNumber { basePacketNumber &+ PacketNumber(span) }

    @inline(__always)
    private func slotIndex(_ pn: PacketNumber) -> Int {
        (head &+ Int(truncatingIfNeeded: pn &- basePacketNumber)) & (slots.count - 1)
    }

    @inline(__always)
    func contains(_ pn: PacketNumber) -> Bool { pn >= basePacketNumber && pn < endPacketNumber }

    /// Appends a packet whose number is at or above `endPacketNumber` (skipped numbers leave
    /// empty slots).
    mutating func append(_ packet: SentPacket<Payload>) {
        let pn = packet.packetNumber
        if count == 0 {
            // Nothing outstanding: restart the window at this packet.
            head = 0
            span = 0
            basePacketNumber = pn
        }
        guard pn >= endPacketNumber else {
            assertionFailure("packet numbers must increase")
            return
        }
        let needed = span + Int(pn - endPacketNumber) + 1
        if needed > slots.count { grow(to: needed) }
        while endPacketNumber < pn {  // skipped packet numbers
            slots[slotIndex(endPacketNumber)] = nil
            span += 1
        }
        slots[slotIndex(pn)] = packet
        span += 1
        count += 1
    }

    subscript(pn: PacketNumber) -> SentPacket<Payload>? {
        contains(pn) ? slots[slotIndex(pn)] : nil
    }

    /// Removes and returns packet `pn` if tracked. Does not trim; call `trimFront()` after a batch.
    mutating func remove(_ pn: PacketNumber) -> SentPacket<Payload>? {
        guard contains(pn) else { return nil }
        let index = slotIndex(pn)
        guard let packet = slots[index] else { return nil }
        slots[index] = nil
        count -= 1
        return packet
    }

    /// Advances the front past empty slots.
    mutating func trimFront() {
        if count == 0 {
            basePacketNumber = endPacketNumber
            head = 0
            span = 0
            return
        }
        let mask = slots.count - 1
        while span > 0, slots[head] == nil {
            head = (head + 1) & mask
            span -= 1
            basePacketNumber &+= 1
        }
    }

    /// Lowest tracked packet number.
    var first: SentPacket<Payload>? {
        var pn = basePacketNumber
        while pn < endPacketNumber {
            if let p = slots[slotIndex(pn)] { return p }
            pn += 1
        }
        return nil
    }

    /// Removes everything, returning live packets in packet-number order.
    mutating func removeAll() -> [SentPacket<Payload>] {
        var out: [SentPacket<Payload>] = []
        out.reserveCapacity(count)
        var pn = basePacketNumber
        while pn < endPacketNumber {
            if let p = slots[slotIndex(pn)] { out.append(p) }
            pn += 1
        }
        slots = Array(repeating: nil, count: slots.count)
        count = 0
        trimFront()
        return out
    }

    private mutating func grow(to needed: Int) {
        var cap = slots.count
        while cap < needed { cap <<= 1 }
        var newSlots = [SentPacket<Payload>?](repeating: nil, count: cap)
        let mask = slots.count - 1
        for i in 0..<span { newSlots[i] = slots[(head + i) & mask] }
        slots = newSlots
        head = 0
    }
}

extension SentPacketQueue: Sendable where Payload: Sendable {}
