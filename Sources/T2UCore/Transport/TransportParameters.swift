// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore

/// Limits each side announces inside the (encrypted, authenticated) handshake payload.
struct TransportParameters: Equatable, Sendable {
    static let version: UInt64 = 1

    /// Connection-level credit the sender grants (initial MAX_DATA).
    var initialMaxData: UInt64
    /// Per-stream credit the sender grants (initial MAX_STREAM_DATA for every stream).
    var initialMaxStreamData: UInt64
    /// How many streams the peer may open at first (initial MAX_STREAMS).
    var initialMaxStreams: UInt64
    /// The sender's idle timeout in milliseconds (the shorter of the two applies).
    var idleTimeoutMillis: UInt64

    init(config: TransportConfig) {
        initialMaxData = UInt64(config.initialConnectionWindow)
        initialMaxStreamData = UInt64(config.initialStreamWindow)
        initialMaxStreams = UInt64(config.maxConcurrentStreams)
        idleTimeoutMillis = UInt64(max(0, config.idleTimeout.value / 1_000_000))
    }

    init(initialMaxData: UInt64, initialMaxStreamData: UInt64, initialMaxStreams: UInt64, idleTimeoutMillis: UInt64) {
        self.initialMaxData = initialMaxData
        self.initialMaxStreamData = initialMaxStreamData
        self.initialMaxStreams = initialMaxStreams
        self.idleTimeoutMillis = idleTimeoutMillis
    }

    func encoded() -> [UInt8] {
        var buffer = ByteBufferAllocator().buffer(capacity: 40)
        for value in [Self.version, initialMaxData, initialMaxStreamData, initialMaxStreams, idleTimeoutMillis] {
            VarInt.write(min(value, VarInt.max), to: &buffer)
        }
        return Array(buffer.readableBytesView)
    }

    /// Parses a peer's parameters. Unknown trailing fields are ignored so later versions may add some.
    static func decode(_ bytes: [UInt8]) throws(WireError) -> TransportParameters {
        var buffer = ByteBufferAllocator().buffer(capacity: bytes.count)
        buffer.writeBytes(bytes)
        let version = try VarInt.read(from: &buffer)
        guard version >= 1 else { throw .invalidHeader("transport parameters version \(version)") }
        return TransportParameters(
            initialMaxData: try VarInt.read(from: &buffer),
            initialMaxStreamData: try VarInt.read(from: &buffer),
            initialMaxStreams: try VarInt.read(from: &buffer),
            idleTimeoutMillis: try VarInt.read(from: &buffer)
        )
    }
}
