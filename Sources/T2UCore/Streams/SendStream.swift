// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore

/// One STREAM frame's worth of payload chosen by `SendStream.nextChunk`.
package struct SendChunk: Equatable, Sendable {
    package var offset: UInt64
    package var data: ByteBuffer
    package var fin: Bool
    /// Bytes beyond the previous highest sent offset: what consumes connection credit.
    package var newBytes: Int

    package init(offset: UInt64, data: ByteBuffer, fin: Bool, newBytes: Int) {
        self.offset = offset
        self.data = data
        self.fin = fin
        self.newBytes = newBytes
    }
}

/// The sending half of a stream: buffers what the application wrote until the peer acknowledges
/// it, and decides what to put in the next STREAM frame (retransmissions first, then new data
/// within flow-control credit, then a bare FIN).
package struct SendStream: Sendable {
    /// Written bytes starting at `offset`; `data`'s readable bytes are the payload.
    private struct Chunk: Sendable {
        var offset: UInt64
        var data: ByteBuffer
        var end: UInt64 { offset + UInt64(data.readableBytes) }
    }

    package let id: StreamID
    /// Unacknowledged plus queued bytes allowed; the connection grows it with the congestion
    /// window (`grow(bufferLimitTo:)`), never shrinks it.
    package private(set) var bufferLimit: Int

    /// Unacknowledged written data, ordered by offset, covering [chunks.first.offset, writeOffset).
    /// Whole chunks are dropped once the acknowledged prefix passes them.
    private var chunks = CircularBuffer<Chunk>(initialCapacity: 8)
    /// Total bytes the application has written (the final size once finished).
    private var writeOffset: UInt64 = 0
    /// Every byte below this is acknowledged.
    private var ackedPrefix: UInt64 = 0
    /// Acknowledged ranges above `ackedPrefix`.
    private var ackedAbovePrefix = RangeSet()
    /// Sent, declared lost and not acknowledged since: retransmitted before new data.
    private var lost = RangeSet()
    package private(set) var sentOffset: UInt64 = 0
    private var peerMaxData: UInt64

    package private(set) var isFinished = false
    private var finSent = false
    private var finAcked = false
    private var finLost = false
    private var isReset = false

    package init(id: StreamID, bufferLimit: Int, peerMaxData: UInt64) {
        self.id = id
        self.bufferLimit = Swift.max(0, bufferLimit)
        self.peerMaxData = peerMaxData
    }

    /// Room left in the send buffer (unacknowledged bytes count against it); 0 after finish/reset.
    package var writableBytes: Int {
        guard !isFinished, !isReset else { return 0 }
        let buffered = writeOffset - ackedPrefix
        return buffered >= UInt64(bufferLimit) ? 0 : bufferLimit - Int(buffered)
    }

    /// Whether a writer that was refused should be told to write again: once a batch has room
    /// (64 KiB, or a quarter of a small buffer), not at every ACK. Told at every ACK, a bridge
    /// fed by a fast local socket reads and queues a packet or two per ACK, a syscall and a
    /// chunk each; the buffer holds twice the window, so waiting for a batch never starves it.
    package var hasRoomForABatch: Bool {
        let batch = Swift.min(Self.writableBatch, Swift.max(1, bufferLimit / 4))
        return writableBytes >= batch
    }

    static let writableBatch = 64 * 1024

    /// Raises the buffer limit (a smaller value changes nothing); returns how much it grew.
    @discardableResult
    package mutating func grow(bufferLimitTo limit: Int) -> Int {
        guard limit > bufferLimit else { return 0 }
        defer { bufferLimit = limit }
        return limit - bufferLimit
    }

    /// Buffers up to `writableBytes` of `data` (zero-copy) and returns how many were taken.
    /// After `reset()` nothing is accepted (returns 0): the connection reports the reset itself.
    package mutating func write(_ data: ByteBuffer) throws(StreamError) -> Int {
        guard !isFinished else { throw .alreadyFinished(id) }
        let accepted = Swift.min(data.readableBytes, writableBytes)
        guard accepted > 0 else { return 0 }
        var slice = data
        if accepted < slice.readableBytes { slice.moveWriterIndex(to: slice.readerIndex + accepted) }
        chunks.append(Chunk(offset: writeOffset, data: slice))
        writeOffset += UInt64(accepted)
        return accepted
    }

    package mutating func finish() throws(StreamError) {
        guard !isFinished else { throw .alreadyFinished(id) }
        isFinished = true
    }

    private var hasNewDataWithinCredit: Bool {
        sentOffset < writeOffset && sentOffset < peerMaxData
    }

    private var isBareFinPending: Bool {
        isFinished && !finSent && sentOffset == writeOffset
    }

    /// Something to send: lost data, new data within the stream's peer credit, or a bare FIN.
    /// Connection credit is not considered: `nextChunk` may still return nil when it is zero.
    package var hasSendableData: Bool {
        guard !isReset else { return false }
        return !lost.isEmpty || finLost || hasNewDataWithinCredit || isBareFinPending
    }

    /// Written bytes not sent yet (whatever holds them back).
    package var hasUnsentData: Bool { !isReset && sentOffset < writeOffset }

    /// The peer's limit for this stream (MAX_STREAM_DATA).
    package var peerCreditLimit: UInt64 { peerMaxData }

    /// New data is waiting but the peer's stream credit is exhausted (send STREAM_DATA_BLOCKED).
    package var isBlockedByStreamCredit: Bool {
        !isReset && sentOffset < writeOffset && sentOffset >= peerMaxData
    }

    /// Retransmissions first (never limited by credit), then new data limited by stream credit,
    /// `maxLength` and `connectionCredit`, then a bare FIN. Add `newBytes` to connection flow
    /// control. Data is a slice of the written buffers unless it spans several writes.
    package mutating func nextChunk(maxLength: Int, connectionCredit: UInt64) -> SendChunk? {
        guard !isReset else { return nil }

        // 1. Retransmissions: already counted against credit when first sent.
        if maxLength > 0, let range = lost.popFirst(maxLength: UInt64(maxLength)) {
            var fin = false
            if finLost && range.upperBound == writeOffset {
                fin = true
                finLost = false
            }
            return SendChunk(offset: range.lowerBound, data: bytes(in: range), fin: fin, newBytes: 0)
        }
        if finLost {
            // Data all delivered or queued; only the FIN went missing.
            finLost = false
            return SendChunk(offset: writeOffset, data: ByteBuffer(), fin: true, newBytes: 0)
        }

        // 2. New data within stream credit, connection credit and the frame budget.
        if maxLength > 0, hasNewDataWithinCredit, connectionCredit > 0 {
            let available = Swift.min(writeOffset, peerMaxData) - sentOffset
            let length = Swift.min(available, UInt64(maxLength), connectionCredit)
            let range = sentOffset..<(sentOffset + length)
            sentOffset = range.upperBound
            let fin = isFinished && sentOffset == writeOffset
            if fin { finSent = true }
            return SendChunk(offset: range.lowerBound, data: bytes(in: range), fin: fin, newBytes: Int(length))
        }

        // 3. A FIN after all data went out (finish() called after the last write was sent).
        if isBareFinPending {
            finSent = true
            return SendChunk(offset: writeOffset, data: ByteBuffer(), fin: true, newBytes: 0)
        }
        return nil
    }

    /// Index of the chunk containing `offset` (which must lie in [ackedPrefix-ish, writeOffset)).
    private func chunkIndex(containing offset: UInt64) -> Int {
        var low = 0
        var high = chunks.count
        while low < high {
            let mid = (low + high) / 2
            if chunks[chunks.index(chunks.startIndex, offsetBy: mid)].end <= offset {
                low = mid + 1
            } else {
                high = mid
            }
        }
        return low
    }

    /// The buffered bytes of `range`: a zero-copy slice when one chunk holds them all, otherwise
    /// a single copy (small writes coalesce into full-size frames).
    private func bytes(in range: Range<UInt64>) -> ByteBuffer {
        let length = Int(range.upperBound - range.lowerBound)
        var position = chunkIndex(containing: range.lowerBound)
        guard position < chunks.count else { return ByteBuffer() }  // unreachable by construction
        let firstChunk = chunks[chunks.index(chunks.startIndex, offsetBy: position)]
        let startInChunk = Int(range.lowerBound - firstChunk.offset)
        if range.upperBound <= firstChunk.end {
            return firstChunk.data.getSlice(at: firstChunk.data.readerIndex + startInChunk, length: length)
                ?? ByteBuffer()
        }
        var out = ByteBufferAllocator().buffer(capacity: length)
        var cursor = range.lowerBound
        while cursor < range.upperBound, position < chunks.count {
            let chunk = chunks[chunks.index(chunks.startIndex, offsetBy: position)]
            let from = Int(cursor - chunk.offset)
            let take = Int(Swift.min(chunk.end, range.upperBound) - cursor)
            if let view = chunk.data.viewBytes(at: chunk.data.readerIndex + from, length: take) {
                out.writeBytes(view)
            }
            cursor += UInt64(take)
            position += 1
        }
        return out
    }

    /// Frees buffer memory as the acknowledged prefix grows; drops the range from `lost`.
    package mutating func onAcked(offset: UInt64, length: Int, fin: Bool) {
        guard !isReset else { return }
        if fin && finSent {
            finAcked = true
            finLost = false
        }
        // Only what was actually sent can be acknowledged (guards against bookkeeping bugs).
        let lower = Swift.max(offset, ackedPrefix)
        let upper = Swift.min(offset &+ UInt64(Swift.max(0, length)), sentOffset)
        guard lower < upper else { return }
        lost.remove(lower..<upper)
        if lower == ackedPrefix {
            ackedPrefix = upper
            // Absorb acknowledged ranges that now touch the prefix.
            while let next = ackedAbovePrefix.first, next.lowerBound <= ackedPrefix {
                ackedPrefix = Swift.max(ackedPrefix, next.upperBound)
                _ = ackedAbovePrefix.popFirst(maxLength: .max)
            }
            releaseAckedChunks()
        } else {
            ackedAbovePrefix.insert(lower..<upper)
        }
    }

    private mutating func releaseAckedChunks() {
        while let head = chunks.first, head.end <= ackedPrefix {
            chunks.removeFirst()
        }
    }

    /// Re-queues only what is not yet acknowledged.
    package mutating func onLost(offset: UInt64, length: Int, fin: Bool) {
        guard !isReset else { return }
        if fin && finSent && !finAcked { finLost = true }
        let lower = Swift.max(offset, ackedPrefix)
        let upper = Swift.min(offset &+ UInt64(Swift.max(0, length)), sentOffset)
        guard lower < upper else { return }
        lost.insert(lower..<upper)
        // Never resend what a later packet already got acknowledged.
        for acked in ackedAbovePrefix.ranges where acked.lowerBound < upper && acked.upperBound > lower {
            lost.remove(acked)
        }
    }

    package mutating func updatePeerMaxData(_ maximum: UInt64) {
        peerMaxData = Swift.max(peerMaxData, maximum)
    }

    /// Finished, FIN sent and every byte plus the FIN acknowledged.
    package var isAllAcked: Bool {
        isFinished && finAcked && ackedPrefix == writeOffset
    }

    /// Bytes written and not yet acknowledged (what holds buffer memory).
    package var unackedBytes: Int { isReset ? 0 : Int(writeOffset - ackedPrefix) }

    /// Drops the buffers; nothing more is sent. `sentOffset` stays as the final size.
    package mutating func reset() {
        isReset = true
        chunks.removeAll()
        lost = RangeSet()
        ackedAbovePrefix = RangeSet()
        finLost = false
    }
}
