// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import T2UCore

/// How one direction of a simulated or proxied link misbehaves. The default value is a perfect
/// link: no delay, no loss, unlimited bandwidth.
///
/// Order of effects in `LinkModel.transmit`: random loss, then the bandwidth bottleneck (drop-tail
/// queue, serialisation), then propagation delay plus jitter, then reordering and duplication.
package struct LinkConditions: Sendable, Equatable, CustomStringConvertible {
    /// One-way propagation delay added to every packet.
    package var delay: Nanos
    /// Uniform extra delay in 0...jitter. Jitter alone keeps packets in order (a packet never
    /// overtakes an earlier one); only `reorderRate` makes later packets overtake.
    package var jitter: Nanos
    /// Probability (0...1) that a packet is lost, independently of every other packet.
    package var lossRate: Double
    /// Probability (0...1) that a packet is held back by an extra `reorderDelay`, so packets sent
    /// after it overtake it.
    package var reorderRate: Double
    package var reorderDelay: Nanos
    /// Probability (0...1) that a delivered packet arrives twice.
    package var duplicateRate: Double
    /// Bottleneck rate; nil (or <= 0) means unlimited. Packets are serialised one after another
    /// through a FIFO queue at this rate.
    package var bandwidthBitsPerSecond: Double?
    /// Drop-tail limit of the bottleneck queue in bytes (including the packet being serialised);
    /// nil means unbounded. Only meaningful with a bandwidth limit.
    package var queueLimitBytes: Int?

    package init(
        delay: Nanos = .zero,
        jitter: Nanos = .zero,
        lossRate: Double = 0,
        reorderRate: Double = 0,
        reorderDelay: Nanos = .zero,
        duplicateRate: Double = 0,
        bandwidthBitsPerSecond: Double? = nil,
        queueLimitBytes: Int? = nil
    ) {
        self.delay = delay
        self.jitter = jitter
        self.lossRate = lossRate
        self.reorderRate = reorderRate
        self.reorderDelay = reorderDelay
        self.duplicateRate = duplicateRate
        self.bandwidthBitsPerSecond = bandwidthBitsPerSecond
        self.queueLimitBytes = queueLimitBytes
    }

    /// No delay, no loss, unlimited bandwidth.
    package static let perfect = LinkConditions()

    /// A wired LAN: 1 Gbit/s, 100 µs one way, a little jitter, 1 MB of switch buffer.
    package static let lan = LinkConditions(
        delay: .microseconds(100), jitter: .microseconds(20),
        bandwidthBitsPerSecond: 1e9, queueLimitBytes: 1024 * 1024)

    /// A WAN path. `rttMs` is the round-trip time (this direction gets half as delay), jitter is
    /// 5 % of the one-way delay, and the bottleneck buffer holds one bandwidth-delay product
    /// (at least 64 KiB) like a typical well-sized router queue.
    package static func wan(rateMbit: Double, rttMs: Double, loss: Double = 0) -> LinkConditions {
        let oneWay = Nanos(Int64((rttMs * 1e6 / 2).rounded()))
        let bitsPerSecond = rateMbit * 1e6
        let bdpBytes = Int(bitsPerSecond / 8 * rttMs / 1000)
        return LinkConditions(
            delay: oneWay, jitter: oneWay / 20, lossRate: loss,
            bandwidthBitsPerSecond: bitsPerSecond, queueLimitBytes: Swift.max(bdpBytes, 64 * 1024))
    }

    /// A poor mobile or Wi-Fi path: 20 Mbit/s, 80 ms RTT, 10 ms jitter, 2 % random loss,
    /// 1 % reordering.
    package static let lossyWireless = LinkConditions(
        delay: .milliseconds(40), jitter: .milliseconds(10), lossRate: 0.02,
        reorderRate: 0.01, reorderDelay: .milliseconds(15),
        bandwidthBitsPerSecond: 20e6, queueLimitBytes: 256 * 1024)

    package var description: String {
        var parts = ["delay \(delay)"]
        if jitter > .zero { parts.append("jitter \(jitter)") }
        if lossRate > 0 { parts.append("loss \(lossRate)") }
        if reorderRate > 0 { parts.append("reorder \(reorderRate) by \(reorderDelay)") }
        if duplicateRate > 0 { parts.append("duplicate \(duplicateRate)") }
        if let rate = effectiveBandwidth { parts.append("rate \(rate / 1e6) Mbit/s") }
        if let queue = queueLimitBytes { parts.append("queue \(queue) B") }
        return parts.joined(separator: ", ")
    }

    /// Bandwidth limit in effect, or nil for unlimited.
    var effectiveBandwidth: Double? {
        guard let rate = bandwidthBitsPerSecond, rate > 0, rate.isFinite else { return nil }
        return rate
    }
}
