// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import T2UCore
import Testing

@testable import T2UServer

/// What the operator's log is fed at info: registrations (first and again), expiries, and the
/// reason of each rejected datagram.
@Suite struct ServerActivityTests {
    @Test func registrationsAndExpiriesAreReported() throws {
        let h = ServerHarness()
        _ = try #require(h.token(.device, uuid: "CAM-1", from: Addr.device))
        #expect(
            h.core.pollActivity() == [.registered(role: .device, uuid: "CAM-1", address: Addr.device, renewed: false)])
        #expect(h.core.pollActivity().isEmpty, "taken once")
        _ = try #require(h.token(.device, uuid: "CAM-1", from: Addr.device))
        #expect(
            h.core.pollActivity() == [.registered(role: .device, uuid: "CAM-1", address: Addr.device, renewed: true)])
        _ = h.advance(by: h.core.config.presenceTimeout + .seconds(5))
        #expect(h.core.pollActivity().contains(.expired(role: .device, uuid: "CAM-1", address: Addr.device)))
    }

    @Test func aRejectionLeavesItsReasonForTheLog() {
        let h = ServerHarness()
        _ = h.sendRaw([0xFF, 1, 2, 3], from: Addr.client)
        #expect(h.core.counters.rejectedCount == 1)
        #expect(h.core.counters.lastRejected == .unknownType)
        #expect(h.core.pollActivity().isEmpty)
    }
}
