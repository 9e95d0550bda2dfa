// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import T2UCore
import T2USim
import Testing

/// `EndpointHost` carries a real `TransportEndpoint` on the simulator: an echo application on
/// the device side returns a stream's bytes over an impaired WAN link.
@Suite struct SimulatedNetworkEndpointHostTests {
    /// Echoes every stream back, then finishes it when the peer finished.
    final class EchoApp {
        var pending: [StreamID: ByteBuffer] = [:]
        var peerFinished: Set<StreamID> = []
        var finished: Set<StreamID> = []
        var streams: Set<StreamID> = []

        func pump(_ connection: Connection) {
            while let event = connection.pollEvent() {
                if case .streamOpened(let id) = event { streams.insert(id) }
                if case .streamReadable(let id) = event { streams.insert(id) }
            }
            guard connection.state == .established else { return }
            for id in streams {
                var buffer = pending[id] ?? ByteBuffer()
                reading: while true {
                    switch (try? connection.read(id, maxBytes: 64 * 1024)) ?? .wouldBlock {
                    case .data(var bytes): buffer.writeBuffer(&bytes)
                    case .fin:
                        peerFinished.insert(id)
                        break reading
                    case .wouldBlock: break reading
                    }
                }
                if buffer.readableBytes > 0, let accepted = try? connection.write(buffer, to: id) {
                    buffer.moveReaderIndex(forwardBy: accepted)
                }
                pending[id] = buffer.readableBytes > 0 ? buffer : nil
                if pending[id] == nil, peerFinished.contains(id), !finished.contains(id),
                    (try? connection.finish(id)) != nil
                {
                    finished.insert(id)
                }
            }
        }
    }

    @Test(arguments: [UInt64(61), 62])
    func streamEchoesThroughEndpointHosts(seed: UInt64) throws {
        let net = SimulatedNetwork(seed: seed)
        let clientAddress = NetAddress(ipv4: (198, 51, 100, 1), port: 40000)
        let deviceAddress = NetAddress(ipv4: (203, 0, 113, 1), port: 50000)
        let clientEntropy = net.makeEntropy()
        let deviceEntropy = net.makeEntropy()
        let deviceIdentity = StaticIdentity.generate(deviceEntropy)
        let client = EndpointHost(
            address: clientAddress,
            options: .init(config: TransportConfig(), identity: .generate(clientEntropy), acceptIncoming: false),
            entropy: clientEntropy)
        let device = EndpointHost(
            address: deviceAddress,
            options: .init(config: TransportConfig(), identity: deviceIdentity, acceptIncoming: true),
            entropy: deviceEntropy)
        net.add(client)
        net.add(device)
        net.setLinks(between: clientAddress, and: deviceAddress, .wan(rateMbit: 20, rttMs: 40, loss: 0.02))

        // Device: echo every stream of every accepted connection.
        let echo = EchoApp()
        device.onActivity = { host, _ in
            for connection in host.accepted { echo.pump(connection) }
        }

        // Client: once connected, send 300 KB on one stream and read the echo.
        let payload = clientEntropy.bytes(300 * 1024)
        var sent = 0
        var received: [UInt8] = []
        var stream: StreamID?
        var gotFin = false
        let connection = client.connect(to: deviceAddress, remoteStaticKey: deviceIdentity.publicKey, now: net.now)
        client.onActivity = { _, _ in
            while connection.pollEvent() != nil {}
            guard connection.state == .established else { return }
            if stream == nil { stream = try? connection.openStream() }
            guard let id = stream else { return }
            while sent < payload.count {
                let chunk = ByteBuffer(bytes: payload[sent..<min(sent + 16 * 1024, payload.count)])
                guard let accepted = try? connection.write(chunk, to: id), accepted > 0 else { break }
                sent += accepted
            }
            if sent == payload.count { try? connection.finish(id) }
            reading: while true {
                switch (try? connection.read(id, maxBytes: 64 * 1024)) ?? .wouldBlock {
                case .data(let bytes): received += bytes.readableBytesView
                case .fin:
                    gotFin = true
                    break reading
                case .wouldBlock: break reading
                }
            }
        }

        let done = net.run(until: net.now + .seconds(60), while: { !gotFin })
        #expect(done, "seed \(seed): echo incomplete, \(received.count) of \(payload.count) bytes")
        #expect(received == payload, "seed \(seed): echoed bytes differ")
        // 300 KB each way through a 20 Mbit/s bottleneck takes at least 120 ms of virtual time.
        #expect(net.now - .zero > .milliseconds(120), "seed \(seed): finished at \(net.now)")
        #expect(device.accepted.count == 1)
        #expect(echo.finished.count == 1)
        #expect(
            net.linkStats(from: clientAddress, to: deviceAddress).droppedRandom > 0, "seed \(seed): no loss exercised")
    }
}
