// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore

/// The receiving half of a stream: reassembles STREAM frames arriving in any order into the byte
/// sequence the peer wrote, enforces stream flow control and final-size rules, and decides when
/// to advertise more credit.
///
/// Out-of-order data is kept as zero-copy slices of the received packets, keyed by offset and
/// never overlapping (a frame only contributes the bytes no earlier frame covered), with the
/// buffered ranges beside them: a frame costs a binary search over the holes and a hash
/// insert, wherever it lands, and the reader takes the slice at its offset. (A sorted buffer
/// made each repair of a hole far behind the reader move the backlog after it: with 5 % loss
/// on a long fat path, thousands of holes in a backlog of tens of thousands of slices.) Every
/// buffered byte lies in [readOffset, advertisedMaxData): the buffer can never exceed the
/// advertised window.
package struct RecvStream: Sendable {

    package let id: StreamID
    /// Buffered slices by their first offset, and the ranges they cover.
    private var slices: [UInt64: ByteBuffer] = [:]
    private var bufferedRanges = RangeSet()
    /// Bytes below this have been handed to the reader.
    package private(set) var consumedOffset: UInt64 = 0
    /// Highest offset received (end of the furthest frame): what connection credit counts.
    package private(set) var highestReceived: UInt64 = 0
    package private(set) var finalSize: UInt64?
    package private(set) var isFinRead = false
    package private(set) var isReset = false
    package private(set) var bufferedBytes = 0
    private var window: ReceiveWindow

    package init(id: StreamID, initialWindow: Int, maxWindow: Int) {
        self.id = id
        self.window = ReceiveWindow(initialWindow: initialWindow, maxWindow: maxWindow)
    }

    package var advertisedMaxData: UInt64 { window.advertised }

    /// Bytes counted against connection flow control (up to the highest received offset, or the
    /// final size after a reset, gaps included) that the reader has not consumed. Pass them to
    /// `ConnectionFlowControl.onBytesConsumed` when discarding the stream unread, or the
    /// connection window shrinks for good. (`bufferedBytes` misses gaps and is 0 after a reset.)
    package var unconsumedCreditBytes: Int { Int(highestReceived - consumedOffset) }

    /// Accepts a STREAM frame (any order, overlap, duplicates). Returns how far the highest
    /// received offset grew: what counts against connection flow control.
    package mutating func receive(offset: UInt64, data: ByteBuffer, fin: Bool) throws(StreamError) -> Int {
        let length = UInt64(data.readableBytes)
        guard offset <= UInt64.max - length else { throw .flowControlViolation(id) }
        let end = offset + length
        if let finalSize {
            if end > finalSize || (fin && end != finalSize) { throw .finalSizeViolation(id) }
        } else if fin && end < highestReceived {
            throw .finalSizeViolation(id)
        }
        if end > window.advertised { throw .flowControlViolation(id) }

        if fin { finalSize = end }
        let growth = end > highestReceived ? end - highestReceived : 0
        highestReceived = Swift.max(highestReceived, end)
        if !isReset && end > consumedOffset && length > 0 {
            insert(offset: offset, data: data)
        }
        if window.isNearLimit(highestReceived), isReaderAtHole { window.noteLimitedBehindHole() }
        return Int(growth)
    }

    /// The reader has taken everything up to a gap, and data beyond the gap is buffered.
    package var isReaderAtHole: Bool { !slices.isEmpty && slices[consumedOffset] == nil }

    /// Buffers the bytes of [offset, offset+data) not already buffered or consumed.
    private mutating func insert(offset: UInt64, data: ByteBuffer) {
        var start = offset
        var data = data
        if start < consumedOffset {
            data.moveReaderIndex(forwardBy: Int(consumedOffset - start))
            start = consumedOffset
        }
        let end = start + UInt64(data.readableBytes)
        bufferedRanges.forEachGap(in: start..<end) { gap in
            guard let piece = data.getSlice(at: data.readerIndex + Int(gap.lowerBound - start), length: gap.count)
            else { return }
            slices[gap.lowerBound] = piece
            bufferedBytes += piece.readableBytes
        }
        bufferedRanges.insert(start..<end)
    }

    /// Up to `maxBytes` contiguous bytes as a zero-copy slice of one received frame (call again
    /// for more); `.fin` once all data and the FIN are read (and on every later call);
    /// `.wouldBlock` otherwise, including after a reset.
    package mutating func read(maxBytes: Int) -> StreamRead {
        if maxBytes > 0, var head = slices.removeValue(forKey: consumedOffset) {
            let length = Swift.min(maxBytes, head.readableBytes)
            var taken = head
            if length < head.readableBytes {
                taken.moveWriterIndex(to: taken.readerIndex + length)
                head.moveReaderIndex(forwardBy: length)
                slices[consumedOffset + UInt64(length)] = head
            }
            bufferedRanges.remove(consumedOffset..<(consumedOffset + UInt64(length)))
            consumedOffset += UInt64(length)
            bufferedBytes -= length
            return .data(taken)
        }
        if !isReset, let finalSize, consumedOffset == finalSize {
            isFinRead = true
            return .fin
        }
        return .wouldBlock
    }

    package var hasReadableData: Bool {
        if isReset || isFinRead { return false }
        if slices[consumedOffset] != nil { return true }
        return finalSize == consumedOffset
    }

    /// A new MAX_STREAM_DATA value once the reader consumed half the window (see `ReceiveWindow`).
    package mutating func takeWindowUpdate(now: Instant, smoothedRtt: Nanos) -> UInt64? {
        // Once the final size is known the peer needs no more credit.
        guard finalSize == nil, !isReset else { return nil }
        return window.takeUpdate(consumed: consumedOffset, now: now, smoothedRtt: smoothedRtt)
    }

    /// A new MAX_STREAM_DATA at once while the peer fills the window behind a hole
    /// (`ReceiveWindow.takeGrowthBehindHole`).
    package mutating func takeGrowthBehindHole(now: Instant, smoothedRtt: Nanos) -> UInt64? {
        guard finalSize == nil, !isReset else { return nil }
        return window.takeGrowthBehindHole(consumed: consumedOffset, now: now, smoothedRtt: smoothedRtt)
    }

    /// Peer reset: checks the final size and drops buffered data. Returns bytes newly counted
    /// against connection flow control; release `unconsumedCreditBytes` when discarding.
    package mutating func onReset(finalSize: UInt64) throws(StreamError) -> Int {
        if let known = self.finalSize, known != finalSize { throw .finalSizeViolation(id) }
        if finalSize < highestReceived { throw .finalSizeViolation(id) }
        if finalSize > window.advertised { throw .flowControlViolation(id) }
        let growth = finalSize - highestReceived
        highestReceived = finalSize
        self.finalSize = finalSize
        isReset = true
        slices.removeAll()
        bufferedRanges = RangeSet()
        bufferedBytes = 0
        return Int(growth)
    }
}
