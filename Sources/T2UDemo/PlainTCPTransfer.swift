// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOPosix
import T2UCheck

/// The same traffic straight to the sink over loopback TCP: a baseline, and a check of the check.
package func plainTCPTransfer(bytes: UInt64) async throws -> DemoPathResult {
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
    let sink = try await DemoSink.start(group: group)
    var results = sink.results.makeAsyncIterator()
    let sent = try await sendThrough(port: sink.port, bytes: bytes, seed: 7, group: group)
    let received = await results.next()
    await sink.close()
    try? await group.shutdownGracefully()
    let verified =
        sent.sentDigest == sent.answeredDigest && received?.digest == sent.sentDigest && received?.bytes == bytes
    return DemoPathResult(path: "tcp", setupMillis: 0, bytes: sent.bytes, seconds: sent.seconds, verified: verified)
}
