// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Logging
import NIOCore
import NIOEmbedded
import T2UCore
import Testing

@testable import T2UNIO

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A `UDPEndpoint`'s read side (`UDPEndpointHandler`) back to back in an `EmbeddedChannel`:
/// GRO runs split back into datagrams, batches, writability and errors reported to the sink,
/// and (with the kernel's EAGAIN simulated) the runs that go through NIO's queue. No socket:
/// the endpoint's descriptor is -1 and never used here.
@Suite struct UDPEndpointHandlerTests {
    final class Sink: UDPDatagramSink {
        var datagrams: [(bytes: [UInt8], from: NetAddress)] = []
        var batches = 0
        var writability: [Bool] = []

        func udpEndpoint(_ endpoint: UDPEndpoint, received datagram: ByteBuffer, from address: NetAddress) {
            datagrams.append((Array(datagram.readableBytesView), address))
        }
        func udpEndpointReadBatchComplete(_ endpoint: UDPEndpoint) { batches += 1 }
        func udpEndpoint(_ endpoint: UDPEndpoint, writabilityChanged writable: Bool) { writability.append(writable) }
    }

    static let peer = NetAddress(ipv4: (192, 0, 2, 9), port: 4000)

    final class Clock {
        var now = Instant(nanoseconds: 1_000_000_000)
    }

    static func endpoint(
        sink: Sink, segmentation: Bool = false, coalescing: ReceiveCoalescing? = nil, clock: Clock = Clock(),
        reads: ReadCounter = ReadCounter()
    ) throws -> (EmbeddedChannel, UDPEndpoint) {
        let channel = EmbeddedChannel()
        channel.localAddress = try SocketAddress(ipAddress: "127.0.0.1", port: 5000)
        let handler = UDPEndpointHandler(clock: { clock.now })
        try channel.pipeline.syncOperations.addHandler(reads)
        try channel.pipeline.syncOperations.addHandler(handler)
        let box = WeakSink(sink)
        let endpoint = try UDPEndpoint(
            channel: channel, descriptor: -1, sink: box,
            offloads: UDPOffloadSupport(segmentation: segmentation, receiveOffload: true),
            configuration: .init(), receiveBufferSize: 0, sendBufferSize: 0, logger: Logger(label: "test"))
        handler.attach(endpoint: endpoint, sink: box, coalescing: coalescing)
        try channel.connect(to: SocketAddress(peer)).wait()
        return (channel, endpoint)
    }

    static func envelope(_ bytes: [UInt8], segmentSize: Int? = nil) -> AddressedEnvelope<ByteBuffer> {
        AddressedEnvelope(
            remoteAddress: SocketAddress(peer), data: ByteBuffer(bytes: bytes),
            metadata: segmentSize.map { .init(ecnState: .transportNotCapable, packetInfo: nil, segmentSize: $0) })
    }

    @Test func aGRORunIsSplitIntoItsDatagrams() throws {
        let sink = Sink()
        let (channel, endpoint) = try Self.endpoint(sink: sink)
        let run =
            Array(repeating: UInt8(1), count: 100) + Array(repeating: 2, count: 100) + Array(repeating: 3, count: 50)
        try channel.writeInbound(Self.envelope(run, segmentSize: 100))
        #expect(sink.datagrams.map(\.bytes) == [Array(run[0..<100]), Array(run[100..<200]), Array(run[200...])])
        #expect(sink.datagrams.allSatisfy { $0.from == Self.peer })
        #expect(endpoint.counters.receiveOperations == 1)
        #expect(endpoint.counters.datagramsReceived == 3)
        #expect(sink.batches == 1, "one batch end per read batch")
    }

    /// A segment size at or above the length (or none) is one datagram, whatever its size.
    @Test func aDatagramNotLongerThanItsSegmentIsOne() throws {
        let sink = Sink()
        let (channel, endpoint) = try Self.endpoint(sink: sink)
        try channel.writeInbound(Self.envelope([1, 2, 3], segmentSize: 3))
        try channel.writeInbound(Self.envelope([4, 5], segmentSize: 0))
        try channel.writeInbound(Self.envelope([]))
        #expect(sink.datagrams.map(\.bytes) == [[1, 2, 3], [4, 5], []])
        #expect(endpoint.counters.datagramsReceived == 3)
    }

    @Test func writabilityIsPassedOn() throws {
        let sink = Sink()
        let (channel, _) = try Self.endpoint(sink: sink)
        channel.isWritable = false
        channel.pipeline.fireChannelWritabilityChanged()
        channel.isWritable = true
        channel.pipeline.fireChannelWritabilityChanged()
        #expect(sink.writability == [false, true])
    }

    /// A read error (ICMP unreachable) is counted; the socket stays open and keeps reading.
    @Test func aReadErrorIsCountedAndNotFatal() throws {
        let sink = Sink()
        let (channel, endpoint) = try Self.endpoint(sink: sink)
        channel.pipeline.fireErrorCaught(IOError(errnoCode: ECONNREFUSED, reason: "recvmmsg"))
        #expect(throws: Never.self) { try channel.throwIfErrorCaught() }
        #expect(endpoint.counters.socketErrors == 1)
        #expect(channel.isActive)
        try channel.writeInbound(Self.envelope([9]))
        #expect(sink.datagrams.map(\.bytes) == [[9]])
    }

    /// The sink is held weakly: once its owner is gone, reads are dropped, not delivered.
    @Test func readsAfterTheSinkIsGoneAreDropped() throws {
        var sink: Sink? = Sink()
        let (channel, endpoint) = try Self.endpoint(sink: sink!)
        sink = nil
        try channel.writeInbound(Self.envelope([1]))
        #expect(endpoint.counters.receiveOperations == 0)
    }

    /// The kernel's buffer is full (EAGAIN, simulated): equal datagrams to one destination go to
    /// NIO's queue as one GSO run, and count as sent once NIO has written them.
    @Test func aFullSocketBufferSendsThroughNIOAsOneRun() throws {
        let sink = Sink()
        let (channel, endpoint) = try Self.endpoint(sink: sink, segmentation: true)
        endpoint.sendFaultInjector = { _ in EAGAIN }
        for byte in UInt8(1)...3 { endpoint.enqueue(ByteBuffer(repeating: byte, count: 1200), to: Self.peer) }
        endpoint.flush()
        let written = try #require(try channel.readOutbound(as: AddressedEnvelope<ByteBuffer>.self))
        #expect(written.remoteAddress == SocketAddress(Self.peer))
        #expect(written.data.readableBytes == 3600)
        #expect(written.metadata?.segmentSize == 1200)
        #expect(try channel.readOutbound(as: AddressedEnvelope<ByteBuffer>.self) == nil)
        #expect(endpoint.counters.deferredSends == 1)
        #expect(endpoint.counters.datagramsSent == 3)
        #expect(endpoint.counters.sendErrors == 0)
    }

    /// Datagrams arriving one at a time every 0.2 ms: after the first, the next read waits up
    /// to `maxHold` (`ReceiveCoalescing`); without coalescing every batch reads again at once.
    @Test func aBusyTrickleHoldsTheNextRead() throws {
        let sink = Sink()
        let clock = Clock()
        let reads = ReadCounter()
        let (channel, _) = try Self.endpoint(sink: sink, coalescing: ReceiveCoalescing(), clock: clock, reads: reads)
        #expect(reads.reads == 1, "attaching starts reading")
        try channel.writeInbound(Self.envelope([1]))
        #expect(reads.reads == 2, "the first datagram says nothing of a rate")
        clock.now += .microseconds(200)
        try channel.writeInbound(Self.envelope([2]))
        #expect(reads.reads == 2, "held")
        channel.embeddedEventLoop.advanceTime(by: .nanoseconds(ReceiveCoalescing.maxHold.value - 1_000))
        #expect(reads.reads == 2)
        channel.embeddedEventLoop.advanceTime(by: .microseconds(1))
        #expect(reads.reads == 3, "read after the longest hold")
        #expect(sink.datagrams.map(\.bytes) == [[1], [2]])
    }

    @Test func withoutCoalescingEveryBatchReadsAgainAtOnce() throws {
        let sink = Sink()
        let clock = Clock()
        let reads = ReadCounter()
        let (channel, _) = try Self.endpoint(sink: sink, clock: clock, reads: reads)
        for byte in UInt8(1)...5 {
            clock.now += .microseconds(200)
            try channel.writeInbound(Self.envelope([byte]))
        }
        #expect(reads.reads == 6)
    }

    /// An endpoint whose read is held: two datagrams came 0.2 ms apart. Sends go to NIO's queue
    /// (no socket here). The caller keeps the sink alive (the endpoint holds it weakly).
    private static func heldRead(sink: Sink) throws -> (EmbeddedChannel, UDPEndpoint, Clock, ReadCounter) {
        let clock = Clock()
        let reads = ReadCounter()
        let (channel, endpoint) = try Self.endpoint(
            sink: sink, segmentation: true, coalescing: ReceiveCoalescing(), clock: clock, reads: reads)
        endpoint.sendFaultInjector = { _ in EAGAIN }
        try channel.writeInbound(Self.envelope([1]))
        clock.now += .microseconds(200)
        try channel.writeInbound(Self.envelope([2]))
        #expect(reads.reads == 2, "held")
        return (channel, endpoint, clock, reads)
    }

    /// A send releases a held read at once, and a batch that made us send is not held: in a
    /// request and response the next request must not wait for the hold.
    @Test func aSendReleasesAHeldRead() throws {
        let sink = Sink()
        let (channel, endpoint, clock, reads) = try Self.heldRead(sink: sink)
        endpoint.enqueue(ByteBuffer(repeating: 9, count: 100), to: Self.peer)
        endpoint.flush()
        #expect(reads.reads == 3, "released by the send")
        channel.embeddedEventLoop.advanceTime(by: .nanoseconds(ReceiveCoalescing.maxHold.value))
        #expect(reads.reads == 3, "the cancelled hold reads nothing more")
        // We answered since the last batch: the next one is read on at once.
        clock.now += .microseconds(200)
        try channel.writeInbound(Self.envelope([3]))
        #expect(reads.reads == 4)
        #expect(sink.datagrams.count == 3)
    }

    /// A pure ACK is answered by nothing: sending one leaves a held read held, and the next
    /// batch may be held again (a one-way flow's receiver sends only those).
    @Test func aPureAckLeavesAHeldReadHeld() throws {
        let sink = Sink()
        let (channel, endpoint, clock, reads) = try Self.heldRead(sink: sink)
        endpoint.enqueue(ByteBuffer(repeating: 9, count: 40), to: Self.peer, awaitsAnswer: false)
        endpoint.flush()
        #expect(reads.reads == 2, "still held after the ACK")
        clock.now += ReceiveCoalescing.maxHold
        channel.embeddedEventLoop.advanceTime(by: .nanoseconds(ReceiveCoalescing.maxHold.value))
        #expect(reads.reads == 3, "read when the hold ends")
        // Eight datagrams waited meanwhile (a GRO run of eight here).
        try channel.writeInbound(Self.envelope([UInt8](repeating: 3, count: 8), segmentSize: 1))
        #expect(reads.reads == 3, "the next batch is held again: the ACK asked for no answer")
        #expect(sink.datagrams.count == 10)
    }
}
