// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import Testing

@testable import T2UCore

@Suite struct WireAckWriterTests {
    func encodedLength(_ ranges: ArraySlice<ClosedRange<PacketNumber>>, delay: UInt64) -> Int {
        FrameCodec.encodedLength(.ack(AckFrame(ackDelayMicros: delay, ranges: Array(ranges))))
    }

    @Test func writesEverythingWhenItFits() throws {
        let ranges: [ClosedRange<PacketNumber>] = [100...110, 90...97, 0...88]
        var buffer = ByteBuffer()
        #expect(FrameCodec.writeAckFrame(ackDelayMicros: 9, ranges: ranges, maxLength: 1200, into: &buffer) == 3)
        #expect(try FrameCodec.decode(from: &buffer) == .ack(AckFrame(ackDelayMicros: 9, ranges: ranges)))
        #expect(buffer.readableBytes == 0)
    }

    @Test func writesNothingWhenNotEvenOneRangeFits() {
        var buffer = ByteBuffer()
        let ranges: [ClosedRange<PacketNumber>] = [1000...1000]
        let needed = encodedLength(ranges[...], delay: 0)
        #expect(FrameCodec.writeAckFrame(ackDelayMicros: 0, ranges: ranges, maxLength: needed - 1, into: &buffer) == 0)
        #expect(FrameCodec.writeAckFrame(ackDelayMicros: 0, ranges: [], maxLength: 1200, into: &buffer) == 0)
        #expect(buffer.readableBytes == 0)
        #expect(FrameCodec.writeAckFrame(ackDelayMicros: 0, ranges: ranges, maxLength: needed, into: &buffer) == 1)
        #expect(buffer.readableBytes == needed)
    }

    /// For every budget: stays within it, keeps the newest ranges, and keeps as many as fit,
    /// including across the range count growing from a 1- to a 2-byte varint at 64.
    @Test func dropsOldestRangesToFitEveryBudget() throws {
        var ranges = WireSamples.manyRanges(100, top: 1 << 40)
        ranges[50] = ranges[50].upperBound - 70_000...ranges[50].upperBound  // a 4-byte length
        ranges[51...] = ranges[51...].map { ($0.lowerBound - 70_000)...($0.upperBound - 70_000) }[...]
        let full = encodedLength(ranges[...], delay: 1234)
        for maxLength in 0...(full + 2) {
            var buffer = ByteBuffer()
            let written = FrameCodec.writeAckFrame(
                ackDelayMicros: 1234, ranges: ranges, maxLength: maxLength, into: &buffer)
            #expect(buffer.readableBytes <= maxLength, "budget \(maxLength)")
            if written == 0 {
                #expect(buffer.readableBytes == 0)
                #expect(encodedLength(ranges[..<1], delay: 1234) > maxLength)
                continue
            }
            #expect(buffer.readableBytes == encodedLength(ranges[..<written], delay: 1234), "budget \(maxLength)")
            if written < ranges.count {
                #expect(
                    encodedLength(ranges[...written], delay: 1234) > maxLength, "budget \(maxLength): could fit more")
            }
            let expected = Frame.ack(AckFrame(ackDelayMicros: 1234, ranges: Array(ranges[..<written])))
            #expect(try FrameCodec.decode(from: &buffer) == expected, "budget \(maxLength)")
        }
    }

    @Test func neverWritesMoreRangesThanThePeerAccepts() throws {
        let ranges = WireSamples.manyRanges(300)
        var buffer = ByteBuffer()
        let written = FrameCodec.writeAckFrame(ackDelayMicros: 0, ranges: ranges, maxLength: 65536, into: &buffer)
        #expect(written == FrameCodec.maxAckRangesDecoded)
        #expect(
            try FrameCodec.decode(from: &buffer) == .ack(AckFrame(ackDelayMicros: 0, ranges: Array(ranges.prefix(256))))
        )
    }

    @Test func encodeKeepsTheNewestRangesThePeerAccepts() throws {
        let ranges = WireSamples.manyRanges(300)
        let frame = Frame.ack(AckFrame(ackDelayMicros: 5, ranges: ranges))
        var buffer = WireSamples.encode([frame])
        #expect(buffer.readableBytes == FrameCodec.encodedLength(frame))
        #expect(
            try FrameCodec.decode(from: &buffer) == .ack(AckFrame(ackDelayMicros: 5, ranges: Array(ranges.prefix(256))))
        )
    }
}
