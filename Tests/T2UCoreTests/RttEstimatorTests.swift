// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Testing

@testable import T2UCore

@Suite struct RttEstimatorTests {
    let ms = Nanos.milliseconds

    @Test func initialStateUsesConfiguredRtt() {
        let r = RttEstimator(initialRtt: .milliseconds(333))
        #expect(!r.hasSample)
        #expect(r.smoothedRtt == .milliseconds(333))
        #expect(r.rttVariance == Nanos(333_000_000 / 2))
        // 333 + 4*166.5 + 25
        #expect(r.probeTimeout(maxAckDelay: ms(25)) == ms(333) + Nanos(666_000_000) + ms(25))
    }

    @Test func firstSampleInitialisesEverything() {
        var r = RttEstimator(initialRtt: ms(333))
        r.update(sample: ms(100), ackDelay: ms(10), maxAckDelay: ms(25))
        #expect(r.hasSample)
        #expect(r.latestRtt == ms(100))
        #expect(r.smoothedRtt == ms(100))  // ack delay is ignored for the first sample
        #expect(r.rttVariance == ms(50))
        #expect(r.minRtt == ms(100))
    }

    @Test func laterSamplesAreSmoothedAndAdjustedForAckDelay() {
        var r = RttEstimator(initialRtt: ms(333))
        r.update(sample: ms(100), ackDelay: .zero, maxAckDelay: ms(25))
        r.update(sample: ms(120), ackDelay: ms(10), maxAckDelay: ms(25))
        // adjusted = 110; rttvar = 3/4*50 + 1/4*10 = 40; srtt = 7/8*100 + 1/8*110 = 101.25
        #expect(r.rttVariance == ms(40))
        #expect(r.smoothedRtt == Nanos(101_250_000))
        #expect(r.latestRtt == ms(120))
        #expect(r.minRtt == ms(100))
    }

    @Test func ackDelayIsCappedByMaxAckDelay() {
        var r = RttEstimator(initialRtt: ms(333))
        r.update(sample: ms(100), ackDelay: .zero, maxAckDelay: ms(25))
        r.update(sample: ms(200), ackDelay: ms(50), maxAckDelay: ms(25))
        // adjusted = 175 (delay capped at 25): srtt = (700 + 175) / 8
        #expect(r.smoothedRtt == Nanos(109_375_000))
    }

    @Test func ackDelayNeverTakesSampleBelowMinRtt() {
        var r = RttEstimator(initialRtt: ms(333))
        r.update(sample: ms(100), ackDelay: .zero, maxAckDelay: ms(25))
        r.update(sample: ms(105), ackDelay: ms(10), maxAckDelay: ms(25))
        // 105 < 100 + 10: delay not subtracted; srtt = (700 + 105) / 8
        #expect(r.smoothedRtt == Nanos(100_625_000))
        #expect(r.rttVariance == Nanos(38_750_000))  // (150 + 5) / 4
    }

    @Test func minRttTracksLowestRawSample() {
        var r = RttEstimator(initialRtt: ms(333))
        for s in [50, 40, 60, 45] as [Int64] { r.update(sample: ms(s), ackDelay: ms(30), maxAckDelay: ms(25)) }
        #expect(r.minRtt == ms(40))
    }

    @Test func probeTimeoutHasGranularityFloor() {
        var r = RttEstimator(initialRtt: ms(100))
        for _ in 0..<200 { r.update(sample: ms(10), ackDelay: .zero, maxAckDelay: ms(25)) }
        #expect(r.smoothedRtt == ms(10))
        #expect(r.rttVariance < Nanos.microseconds(250))
        #expect(r.probeTimeout(maxAckDelay: ms(25)) == ms(10) + ms(1) + ms(25))
    }
}
