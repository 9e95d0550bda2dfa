// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import T2USim

@testable import T2UCore

/// The cheapest application for long simulated transfers: the initiator keeps one stream full
/// of zeros (zero-copy slices of one buffer), the responder reads and counts everything. The
/// simulation's cost is then the transport's own.
final class BulkHost: SimulatedHost {
    let address: NetAddress
    let endpoint: TransportEndpoint
    let isSender: Bool
    private(set) var connection: Connection?
    private(set) var sendStream: StreamID?
    private var readable: Set<StreamID> = []
    private(set) var bytesReceived = 0
    private let chunk = ByteBuffer(repeating: 0, count: 256 * 1024)

    init(address: NetAddress, endpoint: TransportEndpoint, isSender: Bool) {
        self.address = address
        self.endpoint = endpoint
        self.isSender = isSender
    }

    func connect(to peer: NetAddress, key: [UInt8], now: Instant) {
        connection = endpoint.connect(to: peer, remoteStaticKey: key, password: nil, now: now)
    }

    func receive(_ datagram: ByteBuffer, from: NetAddress, now: Instant) {
        endpoint.receive(datagram, from: from, now: now)
        pump()
    }

    func pollTransmit(now: Instant, into buffer: inout ByteBuffer) -> NetAddress? {
        endpoint.pollTransmit(now: now, into: &buffer)
    }

    func nextDeadline() -> Instant? { endpoint.nextDeadline() }

    func handleTimeout(now: Instant) {
        endpoint.handleTimeout(now: now)
        pump()
    }

    private func pump() {
        while let accepted = endpoint.pollAccepted() { connection = accepted }
        guard let connection else { return }
        while let event = connection.pollEvent() {
            switch event {
            case .handshakeCompleted where isSender:
                sendStream = try? connection.openStream()
            case .streamOpened(let id), .streamReadable(let id):
                readable.insert(id)
            default:
                break
            }
        }
        guard connection.state == .established else { return }
        if let id = sendStream {
            while let accepted = try? connection.write(chunk, to: id), accepted == chunk.readableBytes {}
        }
        for id in readable {
            while case .data(let bytes)? = try? connection.read(id, maxBytes: .max) {
                bytesReceived += bytes.readableBytes
            }
        }
        readable.removeAll(keepingCapacity: true)
    }
}
