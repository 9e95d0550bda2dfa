// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Logging
import NIOCore
import NIOPosix
import Synchronization
import T2UCore
import T2UTestSupport
import Testing

@testable import T2UNIO

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Records what the endpoint reports as refused (on the event loop); read through the lock.
final class FailureCollector: UDPDatagramSink, Sendable {
    private let state = Mutex<(received: [ByteBuffer], failures: [SendFailure])>(([], []))
    /// How many datagrams arrived so far: what the tests wait on.
    let arrivals = Watched(0)
    var received: [ByteBuffer] { state.withLock { $0.received } }
    var failures: [SendFailure] { state.withLock { $0.failures } }
    func udpEndpoint(_ endpoint: UDPEndpoint, received datagram: ByteBuffer, from address: NetAddress) {
        let count = state.withLock { state in
            state.received.append(datagram)
            return state.received.count
        }
        arrivals.set(count)
    }
    func udpEndpointReadBatchComplete(_ endpoint: UDPEndpoint) {}
    func udpEndpoint(_ endpoint: UDPEndpoint, writabilityChanged writable: Bool) {}
    func udpEndpoint(_ endpoint: UDPEndpoint, sendFailed failure: SendFailure) {
        state.withLock { $0.failures.append(failure) }
    }
}

/// A refused send costs that datagram only (NIO's DatagramChannel would close the socket).
@Suite("Send failures")
struct SendFailureTests {
    static let listedErrnos: [CInt] = [ENETUNREACH, EHOSTUNREACH, EPERM, EADDRNOTAVAIL, ENOBUFS]

    /// Real refusals without leaving the host: a loopback-bound socket cannot reach a
    /// non-local address (EINVAL) nor broadcast without SO_BROADCAST (EACCES).
    @Test(
        "real kernel refusals cost one datagram; the socket carries on",
        arguments: [OffloadMode.auto, OffloadMode.disabled])
    func realRefusals(mode: OffloadMode) async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        var config = UDPEndpoint.Configuration()
        config.segmentationOffload = mode
        let senderSink = FailureCollector()
        let receiverSink = FailureCollector()
        let sender = try await BoundEndpoint.bind(on: loop, configuration: config, sink: senderSink)
        let receiver = try await BoundEndpoint.bind(on: loop, configuration: config, sink: receiverSink)
        let good = try #require(NetAddress(receiver.localAddress))
        let unroutable = NetAddress(ipv4: (192, 0, 2, 1), port: 9)
        let broadcast = NetAddress(ipv4: (255, 255, 255, 255), port: 9)
        let gsoBefore = sender.offloads.segmentation

        try await loop.submit {
            sender.value.enqueue(patternDatagram(index: 0, size: 100), to: unroutable)
            sender.value.flush()
            sender.value.enqueue(patternDatagram(index: 1, size: 100), to: good)
            // A run of equal datagrams (one GSO send where the kernel has it) to the refusing address.
            for index in 2..<6 { sender.value.enqueue(patternDatagram(index: index, size: 300), to: unroutable) }
            sender.value.enqueue(patternDatagram(index: 6, size: 100), to: broadcast)
            sender.value.enqueue(patternDatagram(index: 7, size: 100), to: good)
            sender.value.flush()
        }.get()
        // On a timeout the expectations below say what is missing.
        _ = try? await receiverSink.arrivals.wait(for: "2 datagrams", timeout: .seconds(5)) { $0 >= 2 }
        let (counters, failures, received, active, gsoAfter) = try await loop.submit {
            (
                sender.value.counters, senderSink.failures, receiverSink.received, sender.value.channel.isActive,
                sender.value.offloads.segmentation
            )
        }.get()
        #expect(received.count == 2, "datagrams to a good address still arrive")
        #expect(active, "the socket stays open")
        #expect(counters.sendErrorsByErrno[EINVAL, default: 0] >= 2, "\(counters)")
        #expect(counters.sendErrorsByErrno[EACCES] == 1, "\(counters)")
        #expect(counters.datagramsDropped == 6, "one + a run of four + one broadcast: \(counters)")
        #expect(gsoAfter == gsoBefore, "a refusing destination is not a GSO refusal")
        #expect(Set(failures.map(\.destination)) == [unroutable, broadcast])
        #expect(failures.allSatisfy { $0.errno == EINVAL || $0.errno == EACCES })
        _ = try? await sender.close()
        _ = try? await receiver.close()
        try await group.shutdownGracefully()
    }

    /// Every errno the issue lists, injected for one destination while another is served:
    /// counted per errno, reported to the sink, nothing else affected.
    @Test("injected errnos are per datagram and per destination", arguments: listedErrnos)
    func injected(code: CInt) async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        let senderSink = FailureCollector()
        let receiverSink = FailureCollector()
        let sender = try await BoundEndpoint.bind(on: loop, sink: senderSink)
        let receiver = try await BoundEndpoint.bind(on: loop, sink: receiverSink)
        let good = try #require(NetAddress(receiver.localAddress))
        let bad = NetAddress(ipv4: (127, 0, 0, 1), port: 9)  // were it sent, it would stay on loopback
        try await loop.submit {
            sender.value.sendFaultInjector = { $0 == bad ? code : nil }
            for index in 0..<50 {
                sender.value.enqueue(patternDatagram(index: index, size: 200), to: index % 2 == 0 ? bad : good)
                if index % 5 == 4 { sender.value.flush() }
            }
            sender.value.flush()
        }.get()
        // On a timeout the expectations below say what is missing.
        _ = try? await receiverSink.arrivals.wait(for: "25 datagrams", timeout: .seconds(5)) { $0 >= 25 }
        let (counters, failures, received) = try await loop.submit {
            (sender.value.counters, senderSink.failures, receiverSink.received.count)
        }.get()
        #expect(received == 25)
        #expect(counters.datagramsDropped == 25 && counters.datagramsSent == 25, "\(counters)")
        #expect(counters.sendErrorsByErrno.keys.sorted() == [code], "\(counters)")
        #expect(failures.allSatisfy { $0.destination == bad && $0.errno == code })
        #expect(failures.reduce(0) { $0 + $1.datagrams } == 25)
        _ = try? await sender.close()
        _ = try? await receiver.close()
        try await group.shutdownGracefully()
    }

    /// EAGAIN (a full socket buffer) is not a failure: the run waits in NIO's queue and later
    /// runs queue behind it, so nothing is lost or reordered.
    @Test func fullSocketBufferDefersInOrder() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        let senderSink = FailureCollector()
        let receiverSink = FailureCollector()
        let sender = try await BoundEndpoint.bind(on: loop, sink: senderSink)
        let receiver = try await BoundEndpoint.bind(on: loop, sink: receiverSink)
        let good = try #require(NetAddress(receiver.localAddress))
        let total = 40
        try await loop.submit {
            let refusals = Mutex(3)
            sender.value.sendFaultInjector = { _ in
                refusals.withLock { left in
                    defer { left -= 1 }
                    return left > 0 ? EAGAIN : nil
                }
            }
            for index in 0..<total {
                sender.value.enqueue(patternDatagram(index: index, size: 200 + index % 2), to: good)  // no GSO runs
                if index % 10 == 9 { sender.value.flush() }
            }
            sender.value.flush()
        }.get()
        // On a timeout the expectations below say what is missing.
        _ = try? await receiverSink.arrivals.wait(for: "\(total) datagrams", timeout: .seconds(5)) { $0 >= total }
        let (counters, received) = try await loop.submit { (sender.value.counters, receiverSink.received) }.get()
        let order = received.compactMap { $0.getInteger(at: $0.readerIndex, as: UInt64.self) }.map(Int.init)
        #expect(order == Array(0..<total), "every datagram, in order")
        #expect(
            counters.deferredSends > 0 && counters.sendErrors == 0 && counters.datagramsSent == UInt64(total),
            "\(counters)")
        _ = try? await sender.close()
        _ = try? await receiver.close()
        try await group.shutdownGracefully()
    }

    @Test func failuresAreLoggedOncePerErrnoThenRateLimited() {
        var log = SendFailureLog()
        let recorder = LogRecorder()
        let logger = Logger(label: "test") { _ in recorder }
        let start = NIODeadline.now()
        let failure = SendFailure(
            errno: ENETUNREACH, destination: NetAddress(ipv4: (192, 0, 2, 10), port: 1), datagrams: 1)
        for i in 0..<100 { log.record(failure, now: start + .milliseconds(Int64(i)), logger: logger) }
        log.record(
            SendFailure(errno: EPERM, destination: failure.destination, datagrams: 1), now: start, logger: logger)
        #expect(recorder.lines.count == 2)
        log.record(failure, now: start + SendFailureLog.interval + .seconds(1), logger: logger)
        #expect(recorder.lines.count == 3)
        #expect(recorder.lines.allSatisfy { $0.level == .warning })
        #expect(recorder.lines.last?.metadata["suppressedSinceLast"] == "99")
        #expect(failure.description.contains("ENETUNREACH") && failure.description.contains("192.0.2.10"))
    }
}

/// Keeps what was logged; its settings too sit behind the lock (the logger may copy it anywhere).
final class LogRecorder: LogHandler, Sendable {
    struct Line: Sendable {
        var level: Logger.Level
        var message: String
        var metadata: Logger.Metadata
    }
    private let stored = Mutex<(lines: [Line], metadata: Logger.Metadata, logLevel: Logger.Level)>(([], [:], .trace))
    var lines: [Line] { stored.withLock { $0.lines } }
    var metadata: Logger.Metadata {
        get { stored.withLock { $0.metadata } }
        set { stored.withLock { $0.metadata = newValue } }
    }
    var logLevel: Logger.Level {
        get { stored.withLock { $0.logLevel } }
        set { stored.withLock { $0.logLevel = newValue } }
    }
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }
    func log(event: LogEvent) {
        stored.withLock {
            $0.lines.append(Line(level: event.level, message: "\(event.message)", metadata: event.metadata ?? [:]))
        }
    }
}
