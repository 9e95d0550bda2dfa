// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import Testing

@testable import T2UCore

private func buffer(_ bytes: ArraySlice<UInt8>) -> ByteBuffer { ByteBuffer(bytes: bytes) }
private func pattern(_ count: Int, seed: UInt64) -> [UInt8] {
    let rng = SeededEntropy(seed: seed ^ 0xABCD)
    return (0..<count).map { _ in UInt8(truncatingIfNeeded: rng.nextUInt64()) }
}
private let sid = StreamID(rawValue: 5)

/// Reads everything currently readable.
private func drain(_ stream: inout RecvStream, maxBytes: Int = .max) -> [UInt8] {
    var out: [UInt8] = []
    while case .data(let data) = stream.read(maxBytes: maxBytes) { out.append(contentsOf: data.readableBytesView) }
    return out
}

@Suite struct RecvStreamTests {
    @Test func inOrderDataIsReadThenFin() throws {
        var stream = RecvStream(id: sid, initialWindow: 1_000, maxWindow: 1_000)
        let bytes = pattern(300, seed: 1)
        #expect(stream.read(maxBytes: 100) == .wouldBlock)
        #expect(!stream.hasReadableData)
        #expect(try stream.receive(offset: 0, data: buffer(bytes[0..<100]), fin: false) == 100)
        #expect(try stream.receive(offset: 100, data: buffer(bytes[100..<300]), fin: true) == 200)
        #expect(stream.bufferedBytes == 300)
        #expect(stream.hasReadableData)
        var read: [UInt8] = []
        while read.count < bytes.count, case .data(let data) = stream.read(maxBytes: 64) {
            #expect(data.readableBytes <= 64)
            read += data.readableBytesView
        }
        #expect(read == bytes)
        #expect(stream.bufferedBytes == 0)
        #expect(!stream.isFinRead)
        #expect(stream.hasReadableData, "the FIN is ready")
        #expect(stream.read(maxBytes: 10) == .fin)
        #expect(stream.isFinRead)
        #expect(!stream.hasReadableData)
    }

    @Test func gapBlocksReadingUntilFilled() throws {
        var stream = RecvStream(id: sid, initialWindow: 1_000, maxWindow: 1_000)
        let bytes = pattern(30, seed: 2)
        #expect(try stream.receive(offset: 10, data: buffer(bytes[10..<30]), fin: true) == 30)
        #expect(stream.read(maxBytes: 100) == .wouldBlock)
        #expect(!stream.hasReadableData)
        #expect(
            try stream.receive(offset: 0, data: buffer(bytes[0..<10]), fin: false) == 0,
            "the highest offset did not grow")
        #expect(drain(&stream) == bytes)
        #expect(stream.read(maxBytes: 1) == .fin)
    }

    @Test func duplicatesAndOverlapsAreBufferedOnce() throws {
        var stream = RecvStream(id: sid, initialWindow: 1_000, maxWindow: 1_000)
        let bytes = pattern(100, seed: 3)
        _ = try stream.receive(offset: 20, data: buffer(bytes[20..<40]), fin: false)
        _ = try stream.receive(offset: 60, data: buffer(bytes[60..<80]), fin: false)
        _ = try stream.receive(offset: 20, data: buffer(bytes[20..<40]), fin: false)
        #expect(stream.bufferedBytes == 40)
        _ = try stream.receive(offset: 10, data: buffer(bytes[10..<90]), fin: false)  // covers both and the gaps
        #expect(stream.bufferedBytes == 80)
        _ = try stream.receive(offset: 0, data: buffer(bytes[0..<15]), fin: false)
        #expect(stream.bufferedBytes == 90)
        #expect(drain(&stream) == Array(bytes[0..<90]))
        // Data entirely below the read offset is ignored.
        _ = try stream.receive(offset: 0, data: buffer(bytes[0..<50]), fin: false)
        #expect(stream.bufferedBytes == 0)
        _ = try stream.receive(offset: 85, data: buffer(bytes[85..<100]), fin: true)
        #expect(drain(&stream) == Array(bytes[90..<100]))
        #expect(stream.read(maxBytes: 1) == .fin)
    }

    /// Frames cut at random points, shuffled, duplicated and overlapping reassemble to the same
    /// bytes, and the buffer never exceeds the advertised window.
    @Test(arguments: [1 as UInt64, 17, 256, 9001, 123_456])
    func shuffledDuplicatedOverlappingFramesReassemble(seed: UInt64) throws {
        let rng = SeededEntropy(seed: seed)
        let total = 50_000
        let bytes = pattern(total, seed: seed)
        var frames: [(offset: Int, end: Int)] = []
        var cursor = 0
        while cursor < total {
            let end = min(total, cursor + Int(rng.next(below: 1_500)) + 1)
            frames.append((cursor, end))
            // Overlapping and duplicate frames.
            if rng.next(below: 4) == 0 {
                let start = max(0, cursor - Int(rng.next(below: 800)))
                frames.append((start, min(total, end + Int(rng.next(below: 800)))))
            }
            if rng.next(below: 6) == 0 { frames.append((cursor, end)) }
            cursor = end
        }
        // Fisher-Yates shuffle.
        for i in stride(from: frames.count - 1, to: 0, by: -1) {
            frames.swapAt(i, Int(rng.next(below: UInt64(i + 1))))
        }
        var stream = RecvStream(id: sid, initialWindow: total, maxWindow: total)
        var counted = 0
        for frame in frames {
            counted += try stream.receive(
                offset: UInt64(frame.offset), data: buffer(bytes[frame.offset..<frame.end]), fin: frame.end == total)
            #expect(stream.bufferedBytes <= Int(stream.advertisedMaxData - stream.consumedOffset), "seed \(seed)")
        }
        #expect(counted == total, "connection credit counts each byte once, seed \(seed)")
        #expect(drain(&stream, maxBytes: Int(rng.next(below: 3_000)) + 1) == bytes, "seed \(seed)")
        #expect(stream.read(maxBytes: 1) == .fin, "seed \(seed)")
    }

    /// A long fat path's pattern: thousands of packets in flight, some lost, the rest arriving
    /// in order after the holes; retransmissions repair the oldest hole first, right where the
    /// reader stopped, while the reader reads. (These repairs move the shorter side of the
    /// out-of-order buffer; before, each rebuilt the whole of it.)
    @Test func holesRepairedNextToTheReaderWhileReadingReassemble() throws {
        let packet = 1_200
        let packets = 5_000
        let bytes = pattern(packet * packets, seed: 11)
        var stream = RecvStream(id: sid, initialWindow: bytes.count, maxWindow: bytes.count)
        let lost = Set(stride(from: 3, to: packets, by: 97)).union(stride(from: 1_000, to: 1_040, by: 1))
        func frame(_ index: Int) -> ByteBuffer { buffer(bytes[(index * packet)..<((index + 1) * packet)]) }
        for index in 0..<packets where !lost.contains(index) {
            _ = try stream.receive(offset: UInt64(index * packet), data: frame(index), fin: index == packets - 1)
        }
        var read = drain(&stream)
        #expect(read.count == 3 * packet, "the reader stops at the first hole")
        // Repairs oldest first, a duplicate of a repair now and then (inserts far from the
        // reader, the other branch, are covered by the shuffled tests above).
        for (step, index) in lost.sorted().enumerated() {
            _ = try stream.receive(offset: UInt64(index * packet), data: frame(index), fin: false)
            if step % 5 == 0 { _ = try stream.receive(offset: UInt64(index * packet), data: frame(index), fin: false) }
            read += drain(&stream, maxBytes: 3_000)
        }
        #expect(read == bytes)
        #expect(stream.bufferedBytes == 0)
        #expect(stream.read(maxBytes: 1) == .fin)
    }

    /// Interleaved receiving and reading with a small window: the sender stays within credit,
    /// the receiver never holds more than the window.
    @Test(arguments: [5 as UInt64, 77, 4242])
    func neverBuffersBeyondAdvertisedWindow(seed: UInt64) throws {
        let rng = SeededEntropy(seed: seed)
        let window = 4_000
        var stream = RecvStream(id: sid, initialWindow: window, maxWindow: window)
        let bytes = pattern(40_000, seed: seed)
        var received: [UInt8] = []
        var now = Instant.zero
        var steps = 0
        while received.count < bytes.count {
            steps += 1
            guard steps < 100_000 else {
                Issue.record("stuck, seed \(seed)")
                return
            }
            let limit = Int(min(stream.advertisedMaxData, UInt64(bytes.count)))
            // The peer sends anything below the limit, in any order.
            for _ in 0..<3 {
                let start =
                    Int(stream.consumedOffset) + Int(rng.next(below: UInt64(limit - Int(stream.consumedOffset) + 1)))
                let end = min(limit, start + Int(rng.next(below: 1_000)))
                _ = try stream.receive(offset: UInt64(start), data: buffer(bytes[start..<end]), fin: end == bytes.count)
                #expect(stream.bufferedBytes <= window, "seed \(seed)")
                if stream.bufferedBytes > window { return }
            }
            received += drain(&stream, maxBytes: Int(rng.next(below: 500)) + 1)
            now += .milliseconds(100)
            _ = stream.takeWindowUpdate(now: now, smoothedRtt: .milliseconds(10))
            #expect(stream.advertisedMaxData - stream.consumedOffset <= UInt64(window), "seed \(seed)")
        }
        #expect(received == bytes, "seed \(seed)")
    }

    @Test func dataBeyondAdvertisedLimitIsAFlowControlViolation() throws {
        var stream = RecvStream(id: sid, initialWindow: 100, maxWindow: 100)
        _ = try stream.receive(offset: 0, data: buffer(pattern(100, seed: 4)[...]), fin: false)
        #expect(throws: StreamError.flowControlViolation(sid)) {
            _ = try stream.receive(offset: 100, data: buffer([1][...]), fin: false)
        }
        #expect(throws: StreamError.flowControlViolation(sid)) {
            _ = try stream.receive(offset: UInt64.max - 1, data: buffer([1, 2, 3][...]), fin: false)
        }
        // An empty frame exactly at the limit is fine.
        #expect(try stream.receive(offset: 100, data: ByteBuffer(), fin: false) == 0)
    }

    @Test func finalSizeRules() throws {
        var stream = RecvStream(id: sid, initialWindow: 1_000, maxWindow: 1_000)
        let bytes = pattern(200, seed: 5)
        _ = try stream.receive(offset: 0, data: buffer(bytes[0..<100]), fin: true)
        // Data past the final size.
        #expect(throws: StreamError.finalSizeViolation(sid)) {
            _ = try stream.receive(offset: 90, data: buffer(bytes[90..<120]), fin: false)
        }
        // FIN moves.
        #expect(throws: StreamError.finalSizeViolation(sid)) {
            _ = try stream.receive(offset: 0, data: buffer(bytes[0..<50]), fin: true)
        }
        // Repeating the same FIN is fine.
        #expect(try stream.receive(offset: 50, data: buffer(bytes[50..<100]), fin: true) == 0)

        // FIN below data already received.
        var other = RecvStream(id: sid, initialWindow: 1_000, maxWindow: 1_000)
        _ = try other.receive(offset: 100, data: buffer(bytes[100..<200]), fin: false)
        #expect(throws: StreamError.finalSizeViolation(sid)) {
            _ = try other.receive(offset: 0, data: buffer(bytes[0..<150]), fin: true)
        }
    }

    @Test func resetChecksFinalSizeAndCountsGrowth() throws {
        var stream = RecvStream(id: sid, initialWindow: 1_000, maxWindow: 1_000)
        _ = try stream.receive(offset: 0, data: buffer(pattern(300, seed: 6)[...]), fin: false)
        #expect(throws: StreamError.finalSizeViolation(sid)) { _ = try stream.onReset(finalSize: 200) }
        #expect(throws: StreamError.flowControlViolation(sid)) { _ = try stream.onReset(finalSize: 2_000) }
        #expect(try stream.onReset(finalSize: 500) == 200)
        #expect(stream.bufferedBytes == 0)
        #expect(!stream.hasReadableData)
        #expect(stream.read(maxBytes: 10) == .wouldBlock)
        #expect(throws: StreamError.finalSizeViolation(sid)) { _ = try stream.onReset(finalSize: 501) }
        #expect(stream.takeWindowUpdate(now: .zero, smoothedRtt: .milliseconds(10)) == nil)

        var finished = RecvStream(id: sid, initialWindow: 1_000, maxWindow: 1_000)
        _ = try finished.receive(offset: 0, data: buffer(pattern(10, seed: 7)[...]), fin: true)
        #expect(throws: StreamError.finalSizeViolation(sid)) { _ = try finished.onReset(finalSize: 11) }
        #expect(try finished.onReset(finalSize: 10) == 0)
    }

    /// Discarding a stream must hand back every byte it counted against connection credit,
    /// gaps and never-sent bytes up to the final size included.
    @Test func unconsumedCreditCoversGapsAndResetFinalSize() throws {
        var stream = RecvStream(id: sid, initialWindow: 1_000, maxWindow: 1_000)
        var flow = ConnectionFlowControl(initialLocalWindow: 800, maxLocalWindow: 800, initialPeerMaxData: 0)
        let bytes = pattern(300, seed: 9)
        try flow.onBytesReceived(try stream.receive(offset: 0, data: buffer(bytes[0..<100]), fin: false))
        try flow.onBytesReceived(try stream.receive(offset: 200, data: buffer(bytes[200..<300]), fin: false))
        let read = stream.read(maxBytes: 60)
        flow.onBytesConsumed(60)
        #expect(read == .data(buffer(bytes[0..<60])))
        #expect(stream.bufferedBytes == 140)
        #expect(stream.unconsumedCreditBytes == 240)
        try flow.onBytesReceived(try stream.onReset(finalSize: 400))
        #expect(stream.bufferedBytes == 0)
        #expect(stream.unconsumedCreditBytes == 340)
        #expect(flow.takeWindowUpdate(now: .zero, smoothedRtt: .zero) == nil)
        flow.onBytesConsumed(stream.unconsumedCreditBytes)
        // Everything counted is now consumed: the whole window can be re-advertised.
        #expect(flow.takeWindowUpdate(now: .zero, smoothedRtt: .zero) == 400 + 800)
    }

    @Test func windowUpdateAfterHalfTheWindowIsConsumed() throws {
        var stream = RecvStream(id: sid, initialWindow: 1_000, maxWindow: 1_000)
        #expect(stream.advertisedMaxData == 1_000)
        _ = try stream.receive(offset: 0, data: buffer(pattern(1_000, seed: 8)[...]), fin: false)
        _ = stream.read(maxBytes: 400)
        #expect(stream.takeWindowUpdate(now: .zero, smoothedRtt: .milliseconds(10)) == nil)
        _ = stream.read(maxBytes: 100)
        #expect(stream.takeWindowUpdate(now: .zero, smoothedRtt: .milliseconds(10)) == 1_500)
        #expect(stream.advertisedMaxData == 1_500)
        #expect(stream.takeWindowUpdate(now: .zero, smoothedRtt: .milliseconds(10)) == nil)
    }

    /// Reads `window/2` bytes per step, `interval` apart, and returns the advertised windows.
    private func windows(interval: Nanos, rtt: Nanos, steps: Int) throws -> [UInt64] {
        var stream = RecvStream(id: sid, initialWindow: 1_000, maxWindow: 16_000)
        var now = Instant(nanoseconds: 1_000_000_000)
        var sizes: [UInt64] = []
        for _ in 0..<steps {
            let limit = stream.advertisedMaxData
            let from = UInt64(stream.consumedOffset) + UInt64(stream.bufferedBytes)
            _ = try stream.receive(offset: from, data: ByteBuffer(repeating: 0, count: Int(limit - from)), fin: false)
            while case .data = stream.read(maxBytes: .max) {}
            now += interval
            if let newLimit = stream.takeWindowUpdate(now: now, smoothedRtt: rtt) {
                sizes.append(newLimit - stream.consumedOffset)
            }
        }
        return sizes
    }

    @Test func autotuningGrowsOnlyWhenUpdatesComeFasterThanTwoRtts() throws {
        let fast = try windows(interval: .milliseconds(15), rtt: .milliseconds(10), steps: 8)
        #expect(fast.first == 1_000, "no growth on the first update")
        #expect(fast.last == 16_000, "doubles up to maxWindow, got \(fast)")
        #expect(fast == fast.sorted())
        let slow = try windows(interval: .milliseconds(25), rtt: .milliseconds(10), steps: 8)
        #expect(slow.allSatisfy { $0 == 1_000 }, "slow reader keeps the initial window, got \(slow)")
    }
}
