// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Synchronization
import T2USim
import Testing

@testable import T2UCore

/// A congestion controller of the caller's own, plugged in through `TransportConfig`, governs
/// the connection: its fixed window caps the goodput at window / RTT on a link that could
/// carry ten times more, and every hook is called.
@Suite struct CustomCongestionControllerSimTests {
    /// What the connection told the controller (shared by its copies: the controller is a value).
    final class Calls: Sendable {
        let made = Atomic(0)
        let sent = Atomic(0)
        let acked = Atomic(0)
    }

    /// Fixed window, paced at window / RTT.
    struct FixedWindow: CongestionController {
        let window: Int
        let calls: Calls
        var congestionWindow: Int { window }
        var bandwidthEstimate: Double { 0 }
        func pacingRate(smoothedRtt: Nanos) -> Double { Double(window) / max(smoothedRtt.seconds, 0.001) }
        mutating func onPacketSent(now: Instant, bytes: Int, bytesInFlight: Int) {
            calls.sent.add(1, ordering: .relaxed)
        }
        mutating func onAcked(_ sample: RateSample, rtt: RttEstimator, appLimited: Bool) {
            calls.acked.add(1, ordering: .relaxed)
        }
        mutating func onCongestionEvent(now: Instant, largestLostSentTime: Instant, lostBytes: Int, bytesInFlight: Int)
        {}
        mutating func onPersistentCongestion(now: Instant) {}
    }

    @Test func aPluggedInControllerGovernsTheConnection() {
        let calls = Calls()
        let window = 50_000
        var config = TransportConfig()
        config.congestionControllerFactory = CongestionControllerFactory { _, _ in
            calls.made.add(1, ordering: .relaxed)
            return FixedWindow(window: window, calls: calls)
        }
        var link = LinkConditions()
        link.delay = .milliseconds(10)
        link.bandwidthBitsPerSecond = 100_000_000
        link.queueLimitBytes = 250_000
        let scenario = TransferScenario(
            seed: 77, config: config, streams: 1, bytesPerStream: 200_000_000, deviceBytesPerStream: 0, link: link)
        let network = scenario.network
        network.run(until: network.now + .seconds(1))
        let before = scenario.device.streamBytesReceived
        let measured: Nanos = .seconds(4)
        network.run(until: network.now + measured)
        let goodput = Double(scenario.device.streamBytesReceived - before) * 8 / measured.seconds
        // 50 kB per 20 ms round trip: 20 Mbit/s at most, against a 100 Mbit/s link.
        let cap = Double(window) * 8 / 0.020
        print("custom controller: goodput \(Int(goodput / 1e6)) Mbit/s, cap \(Int(cap / 1e6)) Mbit/s")
        #expect(goodput > cap * 0.5 && goodput <= cap * 1.05, "goodput \(goodput) against the window's \(cap)")
        #expect(scenario.client.connection?.stats.congestionWindow == window)
        #expect(calls.made.load(ordering: .relaxed) >= 2, "each endpoint's connection makes its own")
        #expect(calls.sent.load(ordering: .relaxed) > 1000)
        #expect(calls.acked.load(ordering: .relaxed) > 100)
    }
}
