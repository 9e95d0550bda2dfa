// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore

/// Stream byte counters of one mapped port across its successive connections, sampled every
/// second for the "current" rate (last ~5 s window) and the average since the port was added.
struct RateMeter {
    struct Totals: Equatable {
        var received: UInt64 = 0
        var sent: UInt64 = 0
    }

    static let window = 6

    let startedAt: NIODeadline
    /// Totals of connections that are gone.
    private(set) var finished = Totals()
    private var samples: [(at: NIODeadline, totals: Totals)] = []

    init(now: NIODeadline) {
        startedAt = now
        samples = [(now, Totals())]
    }

    mutating func connectionEnded(received: UInt64, sent: UInt64) {
        finished.received &+= received
        finished.sent &+= sent
    }

    func totals(current: Totals) -> Totals {
        Totals(received: finished.received &+ current.received, sent: finished.sent &+ current.sent)
    }

    mutating func sample(_ totals: Totals, now: NIODeadline) {
        samples.append((now, totals))
        if samples.count > Self.window { samples.removeFirst(samples.count - Self.window) }
    }

    func info(_ totals: Totals, now: NIODeadline) -> RateInfo {
        var info = RateInfo()
        info.totalReceived = Int64(clamping: totals.received)
        info.totalSent = Int64(clamping: totals.sent)
        let elapsed = Double((now - startedAt).nanoseconds) / 1e9
        info.seconds = Int32(clamping: Int(elapsed))
        if elapsed > 0 {
            info.averageReceiveKBps = Float(Double(totals.received) / 1024 / elapsed)
            info.averageSendKBps = Float(Double(totals.sent) / 1024 / elapsed)
            info.averageKBps = info.averageReceiveKBps + info.averageSendKBps
        }
        if let oldest = samples.first {
            let span = Double((now - oldest.at).nanoseconds) / 1e9
            if span > 0 {
                info.currentReceiveKBps = Float(Double(totals.received &- oldest.totals.received) / 1024 / span)
                info.currentSendKBps = Float(Double(totals.sent &- oldest.totals.sent) / 1024 / span)
                info.currentKBps = info.currentReceiveKBps + info.currentSendKBps
            }
        }
        return info
    }

    /// Sum of several ports' infos (`t2u_get_rate(0)`).
    static func sum(_ infos: [RateInfo]) -> RateInfo {
        var total = RateInfo()
        for info in infos {
            total.totalReceived &+= info.totalReceived
            total.totalSent &+= info.totalSent
            total.currentReceiveKBps += info.currentReceiveKBps
            total.currentSendKBps += info.currentSendKBps
            total.currentKBps += info.currentKBps
            total.averageReceiveKBps += info.averageReceiveKBps
            total.averageSendKBps += info.averageSendKBps
            total.averageKBps += info.averageKBps
            total.seconds = max(total.seconds, info.seconds)
        }
        return total
    }
}
