// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Crypto
import NIOCore
import T2USim

@testable import T2UCore

/// Deterministic bytes of one stream direction: the same (seed, stream, direction) always gives
/// the same sequence, so each side can check what it receives without storing it.
struct StreamPattern {
    private let entropy: SeededEntropy
    init(seed: UInt64, stream: StreamID, fromInitiator: Bool) {
        entropy = SeededEntropy(seed: seed ^ (stream.rawValue &* 0x9E37_79B9) ^ (fromInitiator ? 0xA5A5 : 0x5A5A))
    }
    func next(_ count: Int) -> [UInt8] { entropy.bytes(count) }
}

/// A simulated agent: a `TransportEndpoint` plus an application that opens streams, writes a
/// patterned payload on each, reads everything the peer sends, and hashes both directions.
final class TransferHost: SimulatedHost {
    struct Outgoing {
        var pattern: StreamPattern
        var remaining: Int
        var pending: ByteBuffer?
        var hasher = SHA256()
        var finished = false
    }
    struct Incoming {
        var hasher = SHA256()
        var bytes = 0
        var finished = false
        var digest: [UInt8]?
    }

    private(set) var address: NetAddress
    let endpoint: TransportEndpoint
    private(set) var connection: Connection?
    let seed: UInt64
    let isInitiator: Bool
    /// Streams the initiator opens once connected, and bytes each side sends on every stream.
    let streamCount: Int
    let bytesPerStream: Int
    /// Read at most this many bytes per event round (simulates a slow reader when small).
    var readBudgetPerPump = Int.max
    var reading = true

    private(set) var outgoing: [StreamID: Outgoing] = [:]
    private(set) var incoming: [StreamID: Incoming] = [:]
    private(set) var sentDigests: [StreamID: [UInt8]] = [:]
    private(set) var events: [ConnectionEvent] = []
    private(set) var handshakeCompletedAt: Instant?
    private(set) var closeReason: ConnectionCloseReason?
    private(set) var lastDeliveryAt: Instant?
    /// Called after each pump with the connection (assertions on internal state).
    var observer: ((Connection, Instant) -> Void)?
    private let allocator = ByteBufferAllocator()

    init(
        address: NetAddress, endpoint: TransportEndpoint, seed: UInt64, isInitiator: Bool, streamCount: Int,
        bytesPerStream: Int
    ) {
        self.address = address
        self.endpoint = endpoint
        self.seed = seed
        self.isInitiator = isInitiator
        self.streamCount = streamCount
        self.bytesPerStream = bytesPerStream
    }

    func connect(to peer: NetAddress, key: [UInt8], password: [UInt8]?, pathPolicy: PathPolicy = .any, now: Instant) {
        connection = endpoint.connect(
            to: peer, remoteStaticKey: key, password: password, pathPolicy: pathPolicy, now: now)
    }

    var streamBytesReceived: Int { incoming.values.reduce(0) { $0 + $1.bytes } }
    var allStreamsReceived: Bool {
        incoming.count == streamCount && incoming.values.allSatisfy(\.finished)
    }

    // MARK: SimulatedHost

    func receive(_ datagram: ByteBuffer, from: NetAddress, now: Instant) {
        endpoint.receive(datagram, from: from, now: now)
        pump(now: now)
    }

    func pollTransmit(now: Instant, into buffer: inout ByteBuffer) -> NetAddress? {
        endpoint.pollTransmit(now: now, into: &buffer)
    }

    func nextDeadline() -> Instant? { endpoint.nextDeadline() }

    func handleTimeout(now: Instant) {
        endpoint.handleTimeout(now: now)
        pump(now: now)
    }

    // MARK: application

    func pump(now: Instant) {
        while let accepted = endpoint.pollAccepted() { connection = accepted }
        guard let connection else { return }
        while let event = connection.pollEvent() {
            events.append(event)
            switch event {
            case .handshakeCompleted:
                handshakeCompletedAt = now
                if isInitiator {
                    for _ in 0..<streamCount {
                        guard let id = try? connection.openStream() else { break }
                        startSending(on: id)
                    }
                }
            case .streamOpened(let id):
                startSending(on: id)
            case .streamReadable, .streamWritable, .streamClosed, .pathChanged, .pathValidated, .pathProbeFailed:
                break
            case .streamReset(let id, _):
                outgoing[id] = nil
            case .closed(let reason):
                closeReason = reason
            }
        }
        guard connection.state == .established else { return }
        for id in outgoing.keys { write(id, connection) }
        if reading {
            var budget = readBudgetPerPump
            for id in incoming.keys where budget > 0 { budget -= read(id, connection, budget: budget, now: now) }
        }
        observer?(connection, now)
    }

    private func startSending(on id: StreamID) {
        guard outgoing[id] == nil else { return }
        outgoing[id] = Outgoing(
            pattern: StreamPattern(seed: seed, stream: id, fromInitiator: isInitiator),
            remaining: bytesPerStream)
        incoming[id] = Incoming()
    }

    private func write(_ id: StreamID, _ connection: Connection) {
        guard var out = outgoing[id], !out.finished else { return }
        while true {
            if out.pending == nil, out.remaining > 0 {
                let count = min(out.remaining, 16 * 1024)
                let bytes = out.pattern.next(count)
                out.hasher.update(data: bytes)
                out.remaining -= count
                var buffer = allocator.buffer(capacity: count)
                buffer.writeBytes(bytes)
                out.pending = buffer
            }
            guard var pending = out.pending else { break }
            guard let accepted = try? connection.write(pending, to: id), accepted > 0 else { break }
            pending.moveReaderIndex(forwardBy: accepted)
            out.pending = pending.readableBytes > 0 ? pending : nil
            if out.pending != nil { break }
        }
        if out.pending == nil, out.remaining == 0, (try? connection.finish(id)) != nil {
            out.finished = true
            sentDigests[id] = Array(out.hasher.finalize())
        }
        outgoing[id] = out
    }

    /// Returns bytes read.
    private func read(_ id: StreamID, _ connection: Connection, budget: Int, now: Instant) -> Int {
        guard var inc = incoming[id], !inc.finished else { return 0 }
        var total = 0
        loop: while total < budget {
            switch (try? connection.read(id, maxBytes: min(64 * 1024, budget - total))) ?? .wouldBlock {
            case .data(let bytes):
                bytes.withUnsafeReadableBytes { inc.hasher.update(bufferPointer: $0) }
                inc.bytes += bytes.readableBytes
                total += bytes.readableBytes
                lastDeliveryAt = now
            case .fin:
                inc.finished = true
                inc.digest = Array(inc.hasher.finalize())
                break loop
            case .wouldBlock:
                break loop
            }
        }
        incoming[id] = inc
        return total
    }

    func receivedDigest(_ id: StreamID) -> [UInt8]? { incoming[id]?.digest }
}
