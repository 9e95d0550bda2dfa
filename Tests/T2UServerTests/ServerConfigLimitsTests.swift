// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Testing

@testable import T2UServer

/// Reloaded limits reach a running core: live relay sessions and the per-source limiter take the
/// new rates (ServerCore.apply), sans-IO on the harness's clock.
@Suite struct ServerConfigLimitsTests {
    @Test func liveRelaySessionTakesTheNewRate() throws {
        var config = ServerConfig(identity: ServerHarness.serverIdentity)
        config.relayBurstBytes = 10_000
        config.relayBytesPerSecond = 10_000
        let h = ServerHarness(config: config)
        let (_, clientToken) = try ServerCoreConnectTests.setUp(h)
        _ = ServerCoreConnectTests.connect(h, clientToken: clientToken)
        func relay(_ count: Int) -> Int {
            (0..<count).reduce(0) { sum, _ in
                sum
                    + h.sendRaw(
                        TransportBytes.initiation(initiatorCID: ServerCoreConnectTests.clientCID, payload: 991),
                        from: Addr.client
                    ).count
            }
        }
        #expect(relay(20) == 10)  // the burst: ten 1000-byte packets

        var limits = h.core.config.limits
        limits.relayBytesPerSecond = 1_000
        h.core.apply(limits, now: h.now)
        #expect(relay(20) == 10)  // a new budget at the new rate starts full
        _ = h.advance(by: .seconds(1))
        #expect(relay(20) == 1)  // then refills at 1000 B/s, not 10000
        #expect(h.core.config.relayBytesPerSecond == 1_000)
    }

    @Test func signalingLimiterTakesTheNewRate() {
        let h = ServerHarness()
        var limits = h.core.config.limits
        limits.signalingPerSecond = 5
        limits.signalingBurst = 5
        h.core.apply(limits, now: h.now)
        var answered = 0
        for i in 0..<100 { answered += h.send(.hello(requestID: UInt32(i), role: .client), from: Addr.stranger).count }
        #expect(answered == 5)
        // The per-channel budget never drops below its floor.
        #expect(h.core.config.channelPerSecond == ServerConfig.minimumChannelPerSecond)
    }

    @Test func relayCanBeSwitchedOffAndOnForALiveSession() throws {
        let h = ServerHarness()
        let (_, clientToken) = try ServerCoreConnectTests.setUp(h)
        _ = ServerCoreConnectTests.connect(h, clientToken: clientToken)
        let packet = TransportBytes.initiation(initiatorCID: ServerCoreConnectTests.clientCID)
        var limits = h.core.config.limits
        limits.relayAllowed = false
        h.core.apply(limits, now: h.now)
        #expect(h.sendRaw(packet, from: Addr.client).isEmpty)
        #expect(h.core.counters[.relayDisabled] == 1)
        limits.relayAllowed = true
        h.core.apply(limits, now: h.now)
        #expect(h.sendRaw(packet, from: Addr.client).count == 1)
    }
}
