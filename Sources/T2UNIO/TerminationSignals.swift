// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Dispatch

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// SIGINT and SIGTERM, caught from the moment this is created: create it before starting work
/// so a signal that arrives during start-up still leads to a clean shutdown (the default action
/// would kill the process).
public final class TerminationSignals: @unchecked Sendable {  // immutable after init
    /// Each signal's number, as it arrives.
    public let signals: AsyncStream<Int32>
    private let sources: [any DispatchSourceSignal]

    public init() {
        let (stream, continuation) = AsyncStream<Int32>.makeStream(bufferingPolicy: .bufferingNewest(4))
        let queue = DispatchQueue(label: "t2u.signals")
        signals = stream
        sources = [SIGINT, SIGTERM].map { signalNumber in
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: queue)
            source.setEventHandler { continuation.yield(signalNumber) }
            source.resume()
            return source
        }
    }

    /// Suspends until the next signal; returns its number (SIGTERM if the task is cancelled).
    @discardableResult
    public func wait() async -> Int32 {
        for await number in signals { return number }
        return SIGTERM
    }
}
