// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import NIOPosix
import Synchronization
import T2UCore
import T2UTestSupport
import Testing

@testable import T2UNIO

/// Collects datagrams (on the event loop); the test reads them from anywhere, through the lock,
/// and waits on `arrivals` (how many came so far).
final class DatagramCollector: UDPDatagramSink, Sendable {
    private let state = Mutex<(received: [(ByteBuffer, NetAddress)], readBatches: Int)>(([], 0))
    let arrivals = Watched(0)
    var received: [(ByteBuffer, NetAddress)] { state.withLock { $0.received } }
    var readBatches: Int { state.withLock { $0.readBatches } }
    func udpEndpoint(_ endpoint: UDPEndpoint, received datagram: ByteBuffer, from address: NetAddress) {
        let count = state.withLock { state in
            state.received.append((datagram, address))
            return state.received.count
        }
        arrivals.set(count)
    }
    func udpEndpointReadBatchComplete(_ endpoint: UDPEndpoint) { state.withLock { $0.readBatches += 1 } }
    func udpEndpoint(_ endpoint: UDPEndpoint, writabilityChanged writable: Bool) {}
}

/// An endpoint bound for a test: what it bound to, read once, and the endpoint itself, which
/// stays on its loop (`value` only there).
struct BoundEndpoint: Sendable {
    let owned: LoopOwned<UDPEndpoint>
    let localAddress: SocketAddress
    /// GSO/GRO as bound (a refused GSO send may turn it off later: read `value.offloads` then).
    let offloads: UDPOffloadSupport

    var value: UDPEndpoint { owned.value }

    static func bind(
        on loop: EventLoop, configuration: UDPEndpoint.Configuration = .init(), sink: some UDPDatagramSink & Sendable
    ) async throws -> BoundEndpoint {
        try await loop.flatSubmit {
            UDPEndpoint.bind(on: loop, configuration: configuration, sink: sink).assumeIsolated().map { endpoint in
                BoundEndpoint(
                    owned: LoopOwned(endpoint, eventLoop: loop), localAddress: endpoint.localAddress,
                    offloads: endpoint.offloads)
            }.nonisolated()
        }.get()
    }

    func close() async throws {
        try await owned.flatSubmit { $0.close() }.get()
    }
}

/// A datagram whose content is determined by its index: index (8 bytes) then a pattern.
func patternDatagram(index: Int, size: Int) -> ByteBuffer {
    var buffer = ByteBufferAllocator().buffer(capacity: size)
    buffer.writeInteger(UInt64(index))
    buffer.writeBytes((8..<size).map { UInt8(truncatingIfNeeded: index &* 31 &+ $0) })
    return buffer
}

func sizeOfDatagram(_ index: Int) -> Int {
    // Runs of equal sizes with a shorter one now and then (ends a GSO run).
    index % 37 == 36 ? 700 : 1200
}

@Suite("UDPEndpoint")
struct UDPEndpointTests {
    @Test("batches cross loopback byte-exact", arguments: [OffloadMode.auto, OffloadMode.disabled])
    func batchesRoundTrip(mode: OffloadMode) async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        var config = UDPEndpoint.Configuration()
        config.segmentationOffload = mode
        config.receiveOffload = mode
        let senderSink = DatagramCollector()
        let receiverSink = DatagramCollector()
        let sender = try await BoundEndpoint.bind(on: loop, configuration: config, sink: senderSink)
        let receiver = try await BoundEndpoint.bind(on: loop, configuration: config, sink: receiverSink)
        let destination = try #require(NetAddress(receiver.localAddress))
        let senderAddress = try #require(NetAddress(sender.localAddress))

        let total = 1200
        let perFlush = 100
        for start in stride(from: 0, to: total, by: perFlush) {
            try await loop.submit {
                for index in start..<min(start + perFlush, total) {
                    sender.value.enqueue(patternDatagram(index: index, size: sizeOfDatagram(index)), to: destination)
                }
                sender.value.flush()
            }.get()
            // Let the receiver catch up so the (possibly small, capped) socket buffer never overflows.
            // Bounded generously (10 s): under a loaded CI the last batch once came in after 1 s.
            let expected = min(start + perFlush, total)
            // On a timeout the expectations below say what is missing.
            _ = try? await receiverSink.arrivals.wait(for: "\(expected) datagrams", timeout: .seconds(10)) {
                $0 >= expected
            }
        }

        let (received, sent, got) = try await loop.submit {
            (receiverSink.received, sender.value.counters, receiver.value.counters)
        }.get()
        #expect(received.count == total)
        var seen = Set<Int>()
        for (datagram, from) in received {
            #expect(from == senderAddress)
            let index = try #require(datagram.getInteger(at: datagram.readerIndex, as: UInt64.self))
            let expected = patternDatagram(index: Int(index), size: sizeOfDatagram(Int(index)))
            #expect(datagram == expected, "datagram \(index) differs")
            seen.insert(Int(index))
        }
        #expect(seen.count == total)
        #expect(sent.datagramsSent == UInt64(total))
        #expect(got.datagramsReceived == UInt64(total))

        let host = UDPOffloadSupport.host
        if mode == .disabled {
            #expect(sender.offloads == .none)
            #expect(sent.sendOperations == sent.datagramsSent)
            #expect(got.receiveOperations == got.datagramsReceived)
        } else {
            #expect(sender.offloads == host)
            if host.segmentation {
                // 1200-byte runs of up to 54 datagrams: far fewer sends than datagrams.
                #expect(sent.sendOperations * 10 < sent.datagramsSent, "\(sent)")
            }
            if host.segmentation && host.receiveOffload {
                // Loopback hands GSO runs to a GRO socket whole.
                #expect(got.receiveOperations < got.datagramsReceived, "\(got)")
            }
        }
        #expect(sent.sendErrors == 0)
        try await sender.close()
        try await receiver.close()
        try await group.shutdownGracefully()
    }

    @Test("GSO runs: same destination and size, shorter last, bounded")
    func batcherRuns() throws {
        let a = NetAddress(ipv4: (127, 0, 0, 1), port: 1000)
        let b = NetAddress(ipv4: (127, 0, 0, 1), port: 2000)
        var batcher = DatagramBatcher(allocator: ByteBufferAllocator(), maxSegments: 64)
        var runs: [DatagramBatcher.Run] = []
        func add(_ size: Int, _ to: NetAddress) {
            if let run = batcher.append(ByteBuffer(repeating: UInt8(size & 0xff), count: size), to: to) {
                runs.append(run)
            }
        }
        for _ in 0..<3 { add(1000, a) }
        add(500, a)  // shorter: joins and seals
        add(1000, a)  // new run
        add(1000, b)  // new destination
        add(1200, b)  // larger: new run
        for _ in 0..<60 { add(1200, b) }  // 61 x 1200 > 65507: split at 54
        if let run = batcher.finishRun() { runs.append(run) }

        #expect(runs.map(\.count) == [4, 1, 1, 54, 7])
        #expect(runs.map(\.segmentSize) == [1000, 1000, 1000, 1200, 1200])
        #expect(runs.map(\.destination) == [a, a, b, b, b])
        #expect(runs[0].bytes.readableBytes == 3500)
        #expect(runs.allSatisfy { $0.bytes.readableBytes <= DatagramBatcher.maxRunBytes })

        var single = DatagramBatcher(allocator: ByteBufferAllocator(), maxSegments: 1)
        #expect(single.append(ByteBuffer(repeating: 1, count: 100), to: a) == nil)
        let previous = single.append(ByteBuffer(repeating: 2, count: 100), to: a)
        let first = try #require(previous)
        #expect(first.count == 1)
        #expect(first.bytes == ByteBuffer(repeating: 1, count: 100))
    }
}
