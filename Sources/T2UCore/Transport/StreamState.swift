// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// Both directions of one stream, plus the bookkeeping the connection needs to report events.
/// A class so the per-packet path mutates the buffers in place (a struct copied out of the
/// dictionary would copy-on-write its buffers on every frame).
final class StreamState {
    var send: SendStream
    var recv: RecvStream
    /// `write` accepted less than offered: report `streamWritable` once room appears.
    var wantsWritable = false
    /// A `streamReadable` event is queued and not yet followed by a read.
    var readableSignalled = false
    /// Locally opened and not yet announced to the peer (see `SentFrame.streamOpen`).
    var needsOpenFrame = false
    /// Send buffer above `streamSendBuffer`, reserved from the connection's and the process's
    /// bounds (given back when the stream goes).
    var sendBufferGrowth = 0
    /// The stream credit limit last reported blocked (STREAM_DATA_BLOCKED, once per limit).
    var blockedReported: UInt64?

    init(id: StreamID, config: TransportConfig, peerMaxStreamData: UInt64) {
        send = SendStream(id: id, bufferLimit: config.streamSendBuffer, peerMaxData: peerMaxStreamData)
        recv = RecvStream(id: id, initialWindow: config.initialStreamWindow, maxWindow: config.maxStreamWindow)
    }

    /// Both directions are done: all our data and FIN acknowledged, and the peer's FIN read.
    var isComplete: Bool { send.isAllAcked && recv.isFinRead }
}
