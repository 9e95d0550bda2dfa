// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import T2UCore
import Testing

@testable import T2UServer

@Suite struct PunchOrderTests {
    @Test func ordersAlternateFromTheFirstRelayedSessionOn() {
        #expect(PunchOrder.forAttempt(0) == .together)
        #expect(PunchOrder.forAttempt(1) == .clientFirst)
        #expect(PunchOrder.forAttempt(2) == .deviceFirst)
        #expect(PunchOrder.forAttempt(3) == .clientFirst)
        #expect(PunchOrder.together.delays() == (.zero, .zero))
        #expect(PunchOrder.clientFirst.delays() == (.zero, PunchOrder.defaultWait))
        #expect(PunchOrder.deviceFirst.delays() == (PunchOrder.defaultWait, .zero))
    }

    @Test func wireDelaysAreWholeMillisecondsCapped() {
        #expect(Nanos.milliseconds(500).punchDelayMillis == 500)
        #expect(Nanos.microseconds(1500).punchDelayMillis == 1)
        #expect(Nanos.seconds(60).punchDelayMillis == 2000)
        #expect(Nanos(-5).punchDelayMillis == 0)
        #expect(Nanos.punchDelay(millis: 65_535) == PunchOrder.maxWait)
        #expect(Nanos.punchDelay(millis: 7) == .milliseconds(7))
    }

    @Test func policyCountsRelayedSessionsPerPairAndResetsOnADirectOne() {
        var policy = PunchOrderPolicy()
        #expect(policy.order(client: "c", device: "d") == .together)
        policy.record(client: "c", device: "d", path: .relay)
        #expect(policy.order(client: "c", device: "d") == .clientFirst)
        #expect(policy.order(client: "c", device: "other") == .together)
        #expect(policy.order(client: "other", device: "d") == .together)
        policy.record(client: "c", device: "d", path: .failed)  // no path at all: says nothing of the order
        #expect(policy.order(client: "c", device: "d") == .clientFirst)
        policy.record(client: "c", device: "d", path: .relay)
        #expect(policy.order(client: "c", device: "d") == .deviceFirst)
        policy.record(client: "c", device: "d", path: .relay)
        #expect(policy.order(client: "c", device: "d") == .clientFirst)
        policy.record(client: "c", device: "d", path: .direct)
        #expect(policy.order(client: "c", device: "d") == .together)
        #expect(policy.pairs == 0)
        policy.record(client: "c", device: "d", path: .relay)
        policy.record(client: "c", device: "d", path: .lan)
        #expect(policy.order(client: "c", device: "d") == .together)
    }

    @Test func policyForgetsEverythingWhenFull() {
        var policy = PunchOrderPolicy(capacity: 3)
        for i in 0..<3 { policy.record(client: "c\(i)", device: "d", path: .relay) }
        #expect(policy.pairs == 3)
        policy.record(client: "c0", device: "d", path: .relay)  // a known pair: no eviction
        #expect(policy.order(client: "c0", device: "d") == .deviceFirst)
        policy.record(client: "c3", device: "d", path: .relay)
        #expect(policy.pairs == 1)
        #expect(policy.order(client: "c0", device: "d") == .together)
        #expect(policy.order(client: "c3", device: "d") == .clientFirst)
    }

    @Test func serverTellsTheWaitingSideAfterRelayedSessions() throws {
        let h = ServerHarness()
        let (_, client) = try ServerCoreConnectTests.setUp(h)
        var cid: UInt64 = 0x100
        /// One session: the delays its CONNECT answer and INTRODUCE carried; then the client
        /// reports `path` for it.
        func session(reporting path: SignalingPathKind) throws -> (client: Nanos, device: Nanos) {
            cid += 1
            let (result, introduce) = ServerCoreConnectTests.connect(h, clientToken: client, cid: cid)
            let r = try #require(result)
            let i = try #require(introduce)
            h.send(.pathReport(requestID: 40, token: client, sessionID: r.sessionID, path: path), from: Addr.client)
            return (r.punchDelay, i.punchDelay)
        }
        #expect(try session(reporting: .relay) == (.zero, .zero))
        #expect(h.core.counters.orderedPunches == 0)
        #expect(try session(reporting: .relay) == (.zero, PunchOrder.defaultWait))  // the client first
        #expect(try session(reporting: .relay) == (PunchOrder.defaultWait, .zero))  // the device first
        // A retransmitted CONNECT gets its session's delay again.
        #expect(
            ServerCoreConnectTests.connect(h, clientToken: client, cid: cid).0?.punchDelay == PunchOrder.defaultWait)
        #expect(h.core.counters.orderedPunches == 2)
        #expect(try session(reporting: .direct) == (.zero, PunchOrder.defaultWait))
        #expect(try session(reporting: .relay) == (.zero, .zero))  // the direct one started again
    }
}
