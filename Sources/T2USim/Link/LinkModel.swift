// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import T2UCore

/// One direction of an impaired link as a sans-IO state machine: a datagram goes in with the
/// current time, the times at which its copies come out are returned. Deterministic for a given
/// entropy source (draws are made only for the impairments in effect), so a simulation replays
/// from its seed. Used by the simulator (virtual clock) and the impairment proxy (real clock).
package struct LinkModel {
    /// May change at run time; packets already in flight keep the times they were given, and
    /// the bottleneck's backlog carries over.
    package var conditions: LinkConditions
    package private(set) var stats = LinkStats()

    private let entropy: EntropySource
    /// When the bottleneck finishes serialising everything accepted so far, in nanoseconds
    /// (fractional, so per-packet rounding does not accumulate into a rate error).
    private var busyUntil: Double = 0
    /// Arrival of the latest packet that was not deliberately reordered: jitter never lets a
    /// packet overtake an earlier one, as on a real FIFO path.
    private var lastInOrderArrival = Instant(nanoseconds: .min)

    package init(conditions: LinkConditions, entropy: EntropySource) {
        self.conditions = conditions
        self.entropy = entropy
    }

    /// A datagram of `size` bytes enters the link at `now`: the delivery times of its copies
    /// (none: dropped; two: duplicated). Calls must come with non-decreasing `now`.
    package mutating func transmit(size: Int, now: Instant) -> DeliveryTimes {
        let c = conditions
        let size = Swift.max(size, 0)
        stats.sent &+= 1
        stats.bytesSent &+= UInt64(size)

        if c.lossRate > 0, entropy.nextUnitDouble() < c.lossRate {
            stats.droppedRandom &+= 1
            return DeliveryTimes()
        }

        var departure = now
        if let rate = c.effectiveBandwidth {
            let nowNs = Double(now.nanoseconds)
            let start = Swift.max(nowNs, busyUntil)
            if let limit = c.queueLimitBytes, start > nowNs {
                // Drop-tail: the backlog still to be serialised plus this packet must fit. An
                // idle link always accepts a packet, so a tiny limit cannot black-hole it.
                let backlogBytes = (start - nowNs) * rate / 8e9
                if backlogBytes + Double(size) > Double(limit) {
                    stats.droppedQueue &+= 1
                    return DeliveryTimes()
                }
            }
            busyUntil = start + Double(size) * 8e9 / rate
            departure = Instant(nanoseconds: Int64(busyUntil.rounded(.up)))
        }

        var arrival = departure + Swift.max(c.delay, .zero) + jitterDraw(c.jitter)
        if arrival < lastInOrderArrival { arrival = lastInOrderArrival }
        lastInOrderArrival = arrival

        if c.reorderRate > 0, entropy.nextUnitDouble() < c.reorderRate {
            arrival += Swift.max(c.reorderDelay, .zero)
            stats.reordered &+= 1
        }

        if c.duplicateRate > 0, entropy.nextUnitDouble() < c.duplicateRate {
            stats.duplicated &+= 1
            stats.delivered &+= 2
            stats.bytesDelivered &+= 2 &* UInt64(size)
            return DeliveryTimes(arrival, arrival + jitterDraw(c.jitter))
        }
        stats.delivered &+= 1
        stats.bytesDelivered &+= UInt64(size)
        return DeliveryTimes(arrival)
    }

    /// Bytes accepted by the bottleneck but not yet serialised at `now` (0 without a bandwidth
    /// limit).
    package func backlogBytes(at now: Instant) -> Int {
        guard let rate = conditions.effectiveBandwidth else { return 0 }
        let pending = busyUntil - Double(now.nanoseconds)
        return pending > 0 ? Int((pending * rate / 8e9).rounded(.up)) : 0
    }

    private func jitterDraw(_ jitter: Nanos) -> Nanos {
        guard jitter.value > 0 else { return .zero }
        return Nanos(Int64(entropy.next(below: UInt64(jitter.value) + 1)))
    }
}
