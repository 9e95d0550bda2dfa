// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import T2UCore
import Testing

@Suite struct RepeatLimiterTests {
    @Test func burstPerWindowThenTheHeldBackCountRidesOnTheNextLine() {
        var limiter = RepeatLimiter<String>(burst: 2, window: .seconds(60))
        let t0 = Instant.zero
        #expect(limiter.admit("a", now: t0) == (true, 0))
        #expect(limiter.admit("a", now: t0 + .seconds(1)) == (true, 0))
        #expect(limiter.admit("a", now: t0 + .seconds(2)) == (false, 0))
        #expect(limiter.admit("a", now: t0 + .seconds(3)) == (false, 0))
        #expect(limiter.admit("b", now: t0 + .seconds(3)) == (true, 0), "keys are independent")
        #expect(limiter.admit("a", now: t0 + .seconds(61)) == (true, 2), "a new window says how many were held back")
        #expect(limiter.admit("a", now: t0 + .seconds(62)) == (true, 0))
    }
}
