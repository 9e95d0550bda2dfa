// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import NIOPosix

package enum EchoTransferError: Error, CustomStringConvertible {
    case mismatch(offset: UInt64)
    case closedEarly(sent: UInt64, verified: UInt64)
    case connectFailed(String)
    case timedOut(verified: UInt64)

    package var description: String {
        switch self {
        case .mismatch(let offset): return "echoed data differs from what was sent at byte \(offset)"
        case .closedEarly(let sent, let verified):
            return "connection closed after \(sent) bytes sent, \(verified) verified"
        case .connectFailed(let why): return "cannot connect to the mapped port: \(why)"
        case .timedOut(let verified): return "timed out with \(verified) bytes verified"
        }
    }
}

/// One TCP connection to the mapped port: sends seeded bytes, compares every echoed byte.
package enum EchoTransfer {
    package struct Result: Sendable {
        package var verified: UInt64
        package var seconds: Double
        package var error: EchoTransferError?
    }

    package static func run(
        port: Int, total: UInt64?, until: ContinuousClock.Instant?, seed: UInt64, timeout: Duration,
        group: EventLoopGroup, recorder: CheckRecorder
    ) async -> Result {
        let loop = group.next()
        let promise = loop.makePromise(of: Result.self)
        let channel: Channel
        let handler: NIOLoopBound<EchoCheckHandler>
        do {
            channel = try await ClientBootstrap(group: loop)
                .channelOption(.tcpOption(.tcp_nodelay), value: 1)
                .channelOption(.writeBufferWaterMark, value: .init(low: 256 * 1024, high: 1024 * 1024))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(
                            EchoCheckHandler(
                                total: total, until: until, seed: seed, recorder: recorder, promise: promise))
                    }
                }
                .connect(host: "127.0.0.1", port: port).get()
            handler = try await loop.submit {
                NIOLoopBound(try channel.pipeline.syncOperations.handler(type: EchoCheckHandler.self), eventLoop: loop)
            }.get()
        } catch {
            return Result(verified: 0, seconds: 0, error: .connectFailed("\(error)"))
        }
        let timer = loop.scheduleTask(in: .nanoseconds(Int64(nanoseconds(timeout)))) {
            handler.value.timeOut()
        }
        recorder.setStopHook { loop.execute { handler.value.stop() } }
        if recorder.stopRequested { loop.execute { handler.value.stop() } }
        let result =
            (try? await promise.futureResult.get())
            ?? Result(verified: 0, seconds: 0, error: .closedEarly(sent: 0, verified: 0))
        timer.cancel()
        recorder.setStopHook(nil)
        try? await channel.close()
        return result
    }

    private static func nanoseconds(_ duration: Duration) -> Int64 {
        let parts = duration.components
        return max(0, parts.seconds) * 1_000_000_000 + parts.attoseconds / 1_000_000_000
    }
}
