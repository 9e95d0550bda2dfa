// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// Receive-side credit shared by streams and the connection: how far the peer may send, when to
/// advertise more, and autotuning of the window size.
///
/// A new limit is advertised once the reader has consumed half the window. If that happened
/// within two RTTs of the previous update, the window was limiting throughput (the sender would
/// stall waiting for credit), so it doubles, up to `maxWindow` and to what `reserve` grants (a
/// memory budget). Slow readers never grow it, which bounds memory per stream.
///
/// A lost packet hides that rule: the reader waits at the hole while the data behind it fills
/// the window, and the next update comes a repair later, more than two RTTs after the last. So
/// the window also doubles at the next update when the peer came within an eighth of the limit
/// while the reader waited at a hole (`noteLimitedBehindHole`): on a lossy long path the window must hold the
/// data of the round trips a repair takes, which a slow reader (no hole) never shows.
struct ReceiveWindow: Sendable {
    private(set) var window: UInt64
    let maxWindow: UInt64
    /// The limit last advertised: the peer may send bytes below it.
    private(set) var advertised: UInt64
    private var lastUpdate: Instant?
    private var limitedBehindHole = false
    private var lastGrowthBehindHole: Instant?

    init(initialWindow: Int, maxWindow: Int) {
        let initial = UInt64(Swift.max(0, initialWindow))
        self.window = initial
        self.maxWindow = Swift.max(initial, UInt64(Swift.max(0, maxWindow)))
        self.advertised = initial
    }

    /// A new limit to advertise given how many bytes the reader has consumed, or nil if the
    /// current one still leaves more than half a window.
    mutating func takeUpdate(
        consumed: UInt64, now: Instant, smoothedRtt: Nanos,
        reserve: (UInt64) -> UInt64 = { $0 }
    ) -> UInt64? {
        guard consumed <= advertised, advertised - consumed <= window / 2 else { return nil }
        let consumedFast = lastUpdate.map { smoothedRtt > .zero && now - $0 < smoothedRtt * Int64(2) } ?? false
        if consumedFast || limitedBehindHole {
            limitedBehindHole = false
            _ = double(reserve: reserve)
        }
        lastUpdate = now
        return advertise(consumed: consumed)
    }

    /// Doubles the window, up to `maxWindow` and to what `reserve` grants; returns the growth.
    private mutating func double(reserve: (UInt64) -> UInt64) -> UInt64 {
        let growth = Swift.min(window * 2, maxWindow) - window
        guard growth > 0 else { return 0 }
        let granted = Swift.min(growth, reserve(growth))
        window += granted
        return granted
    }

    /// The limit `consumed + window` if it is above the one advertised (nil otherwise).
    private mutating func advertise(consumed: UInt64) -> UInt64? {
        let limit = consumed + window
        guard limit > advertised else { return nil }
        advertised = limit
        return limit
    }

    /// Behind a hole near the limit the window doubles at once, at most once per RTT, as
    /// receive-buffer autotuning follows what arrives rather than what was read: waiting for
    /// the next update means waiting for the repair, and on a lossy long path each doubling
    /// then cost the round trips a repair takes (1 Gbit/s x 300 ms x 5 %: 1 MB more per 1.2 s).
    /// The limits are the same as for any growth (`maxWindow`, `reserve`). Returns the new limit.
    mutating func takeGrowthBehindHole(
        consumed: UInt64, now: Instant, smoothedRtt: Nanos,
        reserve: (UInt64) -> UInt64 = { $0 }
    ) -> UInt64? {
        guard limitedBehindHole else { return nil }
        if let last = lastGrowthBehindHole, now - last < smoothedRtt { return nil }
        guard double(reserve: reserve) > 0 else { return nil }
        limitedBehindHole = false
        lastGrowthBehindHole = now
        lastUpdate = now
        return advertise(consumed: consumed)
    }

    /// Whether the peer's data, reaching `highestReceived`, came within an eighth of the limit.
    func isNearLimit(_ highestReceived: UInt64) -> Bool { highestReceived + window / 8 >= advertised }

    /// Near the limit, the reader has taken all it can and waits for missing bytes (lost or
    /// reordered) while later ones are buffered: the window limits, whatever the timing says. A
    /// slow reader has buffered data to read, so it never calls this. Callers check
    /// `isNearLimit` first: whether the reader waits at a hole costs a lookup, and this runs
    /// for every STREAM frame.
    mutating func noteLimitedBehindHole() { limitedBehindHole = true }
}
