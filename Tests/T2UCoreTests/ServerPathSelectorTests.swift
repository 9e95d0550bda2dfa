// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Testing

@testable import T2UCore

/// Happy eyeballs between UDP and the TCP fallback, on a virtual clock.
@Suite struct ServerPathSelectorTests {
    static func at(_ ms: Int64) -> Instant { Instant(nanoseconds: ms * 1_000_000) }

    static func drain(_ selector: inout ServerPathSelector) -> [ServerPathSelector.Action] {
        var actions: [ServerPathSelector.Action] = []
        while let action = selector.pollAction() { actions.append(action) }
        return actions
    }

    @Test func answeredUDPNeverOpensTheStream() {
        var selector = ServerPathSelector()
        selector.sentOverUDP(now: Self.at(0))
        selector.receivedOverUDP(now: Self.at(30))
        #expect(selector.nextDeadline() == nil)
        selector.handleTimeout(now: Self.at(5000))
        #expect(Self.drain(&selector).isEmpty)
        #expect(!selector.carriesOverStream)
    }

    @Test func silentUDPOpensTheStreamAfterTheDelayAndMovesTrafficOnceUp() {
        var selector = ServerPathSelector()
        selector.sentOverUDP(now: Self.at(0))
        selector.sentOverUDP(now: Self.at(500))  // a retransmission does not restart the clock
        #expect(selector.nextDeadline() == Self.at(1500))
        selector.handleTimeout(now: Self.at(1499))
        #expect(Self.drain(&selector).isEmpty)
        selector.handleTimeout(now: Self.at(1500))
        #expect(Self.drain(&selector) == [.openStream])
        #expect(!selector.carriesOverStream, "UDP until the stream is up")
        selector.streamUp(now: Self.at(1600))
        #expect(selector.carriesOverStream)
        // UDP keeps being probed while on the stream.
        #expect(selector.nextDeadline() == Self.at(6600))
        selector.handleTimeout(now: Self.at(6600))
        #expect(Self.drain(&selector) == [.probeUDP])
        // The first UDP answer moves back and closes the stream.
        selector.receivedOverUDP(now: Self.at(6650))
        #expect(Self.drain(&selector) == [.closeStream])
        #expect(!selector.carriesOverStream)
        #expect(selector.stream == .idle)
    }

    @Test func udpWinningTheRaceClosesTheConnectingStream() {
        var selector = ServerPathSelector()
        selector.sentOverUDP(now: Self.at(0))
        selector.handleTimeout(now: Self.at(1500))
        #expect(Self.drain(&selector) == [.openStream])
        selector.receivedOverUDP(now: Self.at(1520))
        #expect(Self.drain(&selector) == [.closeStream])
        selector.streamUp(now: Self.at(1550))  // a late upgrade of the abandoned stream
        #expect(!selector.carriesOverStream)
    }

    @Test func lostStreamReconnectsWithBackoff() {
        var selector = ServerPathSelector()
        selector.sentOverUDP(now: Self.at(0))
        selector.handleTimeout(now: Self.at(1500))
        _ = Self.drain(&selector)
        selector.streamDown(now: Self.at(1600))  // refused
        #expect(selector.nextDeadline() == Self.at(2600))
        selector.handleTimeout(now: Self.at(2600))
        #expect(Self.drain(&selector) == [.openStream])
        selector.streamDown(now: Self.at(2700))
        #expect(selector.nextDeadline() == Self.at(4700), "the delay doubles")
        selector.handleTimeout(now: Self.at(4700))
        #expect(Self.drain(&selector) == [.openStream])
        selector.streamUp(now: Self.at(4800))
        #expect(selector.carriesOverStream)
        selector.streamDown(now: Self.at(9000))
        #expect(!selector.carriesOverStream, "traffic falls back to UDP at once")
        #expect(selector.nextDeadline() == Self.at(10_000), "a stream that was up resets the backoff")
    }
}
