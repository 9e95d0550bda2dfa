// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

extension Connection {
    /// Send buffer autotuning: a stream may hold twice the congestion window (what is in flight
    /// and as much again queued), so the controller's inflight, never the buffer, limits a long
    /// fat path. Growth is taken from the connection's bound and the process's budget, in steps
    /// of at least `sendBufferGrowthStep` (no bookkeeping per packet).
    func growSendBuffer(_ stream: StreamState) {
        let wanted = Swift.min(config.maxStreamSendBuffer, 2 * recovery.congestionWindow)
        let extra = Swift.min(wanted - stream.send.bufferLimit, config.maxConnectionSendBuffer - sendBufferGrowth)
        guard extra >= Self.sendBufferGrowthStep else { return }
        let granted = bufferBudget.reserve(upTo: extra)
        guard granted > 0 else { return }
        stream.send.grow(bufferLimitTo: stream.send.bufferLimit + granted)
        stream.sendBufferGrowth += granted
        sendBufferGrowth += granted
    }

    static let sendBufferGrowthStep = 64 * 1024

    /// Gives a departing stream's send buffer growth back.
    func releaseSendBuffer(of stream: StreamState) {
        bufferBudget.release(stream.sendBufferGrowth)
        sendBufferGrowth -= stream.sendBufferGrowth
        stream.sendBufferGrowth = 0
    }

    /// Connection receive window growth, out of the process's budget.
    func reserveReceiveGrowth(_ bytes: UInt64) -> UInt64 {
        let granted = bufferBudget.reserve(upTo: Int(clamping: bytes))
        receiveWindowGrowth += granted
        return UInt64(granted)
    }

    /// Every stream is gone (the connection closed): all growth goes back to the budget.
    func releaseAllBuffers() {
        bufferBudget.release(sendBufferGrowth + receiveWindowGrowth)
        sendBufferGrowth = 0
        receiveWindowGrowth = 0
        for stream in streams.values { stream.sendBufferGrowth = 0 }
    }
}

/// What a connection keeps per stream, summed over its streams (tests and diagnostics): all
/// zero once every stream is closed.
struct PerStreamState: Equatable, CustomStringConvertible {
    var streams = 0
    var scheduled = 0
    var creditUpdatesPending = 0
    var resetsPending = 0
    var resetsAwaitingFinalSize = 0
    var sendBufferGrowth = 0
    /// Received bytes never consumed nor returned: connection credit lost for good.
    var unreturnedCredit: UInt64 = 0

    static let empty = PerStreamState()

    var description: String {
        "streams=\(streams) scheduled=\(scheduled) creditUpdates=\(creditUpdatesPending) resets=\(resetsPending) awaitingFinalSize=\(resetsAwaitingFinalSize) "
            + "sendBufferGrowth=\(sendBufferGrowth) unreturnedCredit=\(unreturnedCredit)"
    }
}

extension Connection {
    var perStreamState: PerStreamState {
        PerStreamState(
            streams: streams.count, scheduled: scheduler.count, creditUpdatesPending: maxStreamDataPending.count,
            resetsPending: resetsPending.count, resetsAwaitingFinalSize: resetsAwaitingFinalSize.count,
            sendBufferGrowth: sendBufferGrowth,
            unreturnedCredit: flow.unconsumedBytes)
    }
}
