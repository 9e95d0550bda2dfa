// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import Testing

@testable import T2UClient

/// `t2u_get_rate`'s figures: totals across a port's connections, the average since the port was
/// added and the current rate over the last samples (one a second, `RateMeter.window` kept).
@Suite struct RateMeterTests {
    static let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000)

    static func at(_ seconds: Int64) -> NIODeadline { t0 + .seconds(seconds) }

    @Test func currentRateCoversTheLastSamplesAndFallsToZeroAfterThem() {
        var meter = RateMeter(now: Self.t0)
        // 10 KiB a second received, 5 KiB a second sent, for 3 s; then idle.
        for second in 1...3 {
            meter.sample(
                .init(received: UInt64(second) * 10_240, sent: UInt64(second) * 5_120), now: Self.at(Int64(second)))
        }
        let busy = meter.info(.init(received: 30_720, sent: 15_360), now: Self.at(3))
        #expect(busy.totalReceived == 30_720 && busy.totalSent == 15_360 && busy.seconds == 3)
        #expect(busy.currentReceiveKBps == 10 && busy.currentSendKBps == 5 && busy.currentKBps == 15)
        #expect(busy.averageKBps == 15)
        // Idle for longer than the window: nothing current, the average keeps falling.
        for second in 4...12 { meter.sample(.init(received: 30_720, sent: 15_360), now: Self.at(Int64(second))) }
        let idle = meter.info(.init(received: 30_720, sent: 15_360), now: Self.at(12))
        #expect(idle.currentKBps == 0)
        #expect(idle.averageKBps == 3.75)
    }

    @Test func totalsAddConnectionsThatEnded() {
        var meter = RateMeter(now: Self.t0)
        meter.connectionEnded(received: 1000, sent: 2000)
        let totals = meter.totals(current: .init(received: 10, sent: 20))
        #expect(totals == .init(received: 1010, sent: 2020))
        let sum = RateMeter.sum([
            meter.info(totals, now: Self.at(1)), meter.info(.init(received: 5, sent: 5), now: Self.at(1)),
        ])
        #expect(sum.totalReceived == 1015 && sum.totalSent == 2025)
    }
}
