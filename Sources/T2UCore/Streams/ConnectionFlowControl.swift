// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// Connection-level credit in both directions. Send side: the peer's MAX_DATA against the new
/// bytes we sent on all streams. Receive side: our MAX_DATA against the highest offsets the peer
/// reached on all streams, re-advertised as the application consumes data (with autotuning).
package struct ConnectionFlowControl: Sendable {
    private var peerMaxData: UInt64
    private var totalNewBytesSent: UInt64 = 0
    private var totalReceived: UInt64 = 0
    private var totalConsumed: UInt64 = 0
    private var window: ReceiveWindow

    package init(initialLocalWindow: Int, maxLocalWindow: Int, initialPeerMaxData: UInt64) {
        self.peerMaxData = initialPeerMaxData
        self.window = ReceiveWindow(initialWindow: initialLocalWindow, maxWindow: maxLocalWindow)
    }

    // MARK: Send side

    package var sendCredit: UInt64 {
        peerMaxData > totalNewBytesSent ? peerMaxData - totalNewBytesSent : 0
    }

    /// The peer's limit (MAX_DATA).
    package var peerCreditLimit: UInt64 { peerMaxData }

    package mutating func onNewBytesSent(_ n: Int) {
        totalNewBytesSent += UInt64(Swift.max(0, n))
    }

    package mutating func updatePeerMaxData(_ maximum: UInt64) {
        peerMaxData = Swift.max(peerMaxData, maximum)
    }

    /// No credit left: send DATA_BLOCKED if streams have new data waiting.
    package var isSendBlocked: Bool { sendCredit == 0 }

    // MARK: Receive side

    /// `n` is how far a stream's highest received offset grew (`RecvStream.receive`'s result).
    package mutating func onBytesReceived(_ n: Int) throws(StreamError) {
        let grown = totalReceived.addingReportingOverflow(UInt64(Swift.max(0, n)))
        guard !grown.overflow, grown.partialValue <= window.advertised else {
            throw .flowControlViolation(StreamID(rawValue: .max))
        }
        totalReceived = grown.partialValue
    }

    /// Data arrived on a stream; `readerAtHole` is asked only near the limit (see
    /// `ReceiveWindow.noteLimitedBehindHole`).
    package mutating func noteReceived(readerAtHole: () -> Bool) {
        if window.isNearLimit(totalReceived), readerAtHole() { window.noteLimitedBehindHole() }
    }

    /// The application read `n` bytes (or a reset stream's unread bytes were discarded).
    package mutating func onBytesConsumed(_ n: Int) {
        totalConsumed = Swift.min(totalConsumed + UInt64(Swift.max(0, n)), totalReceived)
    }

    /// A new MAX_DATA once half the window is consumed; growth of the window takes what
    /// `reserve` grants of what it asks (the process's buffer budget).
    package mutating func takeWindowUpdate(
        now: Instant, smoothedRtt: Nanos,
        reserve: (UInt64) -> UInt64 = { $0 }
    ) -> UInt64? {
        window.takeUpdate(consumed: totalConsumed, now: now, smoothedRtt: smoothedRtt, reserve: reserve)
    }

    /// A new MAX_DATA at once while the peer fills the window behind a hole
    /// (`ReceiveWindow.takeGrowthBehindHole`).
    package mutating func takeGrowthBehindHole(
        now: Instant, smoothedRtt: Nanos, reserve: (UInt64) -> UInt64 = { $0 }
    ) -> UInt64? {
        window.takeGrowthBehindHole(consumed: totalConsumed, now: now, smoothedRtt: smoothedRtt, reserve: reserve)
    }

    package var advertisedMaxData: UInt64 { window.advertised }

    /// Received (counted against our window) and not consumed yet.
    package var unconsumedBytes: UInt64 { totalReceived - totalConsumed }
}
