// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// Receive-side credit shared by streams and the connection: how far the peer may send, when to
/// advertise more, and autotuning of the window size.
///
/// A new limit is advertised once the reader has consumed half the window. If that happened
/// within two RTTs of the previous update, the window was limiting throughput (the sender would
/// stall waiting for credit), so it doubles, up to `maxWindow` and to what `reserve` grants (a
/// memory budget). Slow readers never grow it, which bounds memory per stream.
struct ReceiveWindow: Sendable {
    private(set) var window: UInt64
    let maxWindow: UInt64
    /// The limit last advertised: the peer may send bytes below it.
    private(set) var advertised: UInt64
    private var lastUpdate: Instant?

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
        if let last = lastUpdate, smoothedRtt > .zero, now - last < smoothedRtt * Int64(2) {
            let growth = Swift.min(window * 2, maxWindow) - window
            if growth > 0 { window += Swift.min(growth, reserve(growth)) }
        }
        lastUpdate = now
        let limit = consumed + window
        guard limit > advertised else { return nil }
        advertised = limit
        return limit
    }
}
