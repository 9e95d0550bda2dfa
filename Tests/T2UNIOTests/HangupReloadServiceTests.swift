// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Logging
import ServiceLifecycle
import Synchronization
import T2UNIO
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The SIGHUP service of t2u-server and t2usvr, in this process: each SIGHUP calls the reload
/// and its outcome is logged at the outcome's levels; a graceful shutdown ends the service.
@Suite(.serialized) struct HangupReloadServiceTests {
    /// Keeps what is logged through it.
    final class Recorder: Sendable {
        let lines = Mutex<[(Logger.Level, String)]>([])
    }

    struct RecordingHandler: LogHandler {
        let recorder: Recorder
        var logLevel: Logger.Level = .trace
        var metadata: Logger.Metadata = [:]
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            recorder.lines.withLock { $0.append((event.level, "\(event.message)")) }
        }
    }

    @Test func eachHangupReloadsAndLogsTheOutcomeUntilTheGracefulShutdown() async throws {
        let recorder = Recorder()
        let logger = Logger(label: "test.hangup") { _ in RecordingHandler(recorder: recorder) }
        let (reloads, reloaded) = AsyncStream<Int>.makeStream()
        let count = Mutex(0)
        let service = await HangupReloadService(logger: logger) {
            let n = count.withLock {
                $0 += 1
                return $0
            }
            reloaded.yield(n)
            return n == 1
                ? .applied("reload: first", warnings: ["reload: needs a restart"]) : .refused("reload failed: second")
        }
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(services: [service], logger: logger))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            // Bounded: a lost signal fails the test instead of hanging it.
            tasks.addTask {
                try await Task.sleep(nanoseconds: 20_000_000_000)
                await group.triggerGracefulShutdown()
            }
            var iterator = reloads.makeAsyncIterator()
            // SIGHUP is trapped since the service was made: raising it cannot end this process.
            kill(getpid(), SIGHUP)
            #expect(await iterator.next() == 1)
            kill(getpid(), SIGHUP)
            #expect(await iterator.next() == 2)
            await group.triggerGracefulShutdown()
            try await tasks.next()
            tasks.cancelAll()
        }
        let lines = recorder.lines.withLock { $0 }.filter { $0.0 != .debug && $0.1.hasPrefix("reload") }
        #expect(lines.map(\.0) == [.info, .warning, .error])
        #expect(lines.map(\.1) == ["reload: first", "reload: needs a restart", "reload failed: second"])
    }
}
