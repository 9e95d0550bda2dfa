// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import T2UCore
import Testing

@testable import T2UServer

/// Relays many data packets through `ServerCore` (no sockets) and prints the rate, to spot a
/// per-packet regression; it asserts only that everything was forwarded unchanged in size.
@Suite struct RelayThroughputTests {
    @Test func relaysDataPacketsBothWays() throws {
        var config = ServerConfig()
        config.relayBytesPerSecond = 1e12
        config.relayBurstBytes = 1e12
        let h = ServerHarness(config: config)
        let (_, clientToken) = try ServerCoreConnectTests.setUp(h)
        _ = ServerCoreConnectTests.connect(h, clientToken: clientToken)
        h.sendRaw(
            TransportBytes.response(
                initiatorCID: ServerCoreConnectTests.clientCID,
                responderCID: ServerCoreConnectTests.deviceCID), from: Addr.device)
        let toDevice = ByteBuffer(
            bytes: TransportBytes.data(destinationCID: ServerCoreConnectTests.deviceCID, payload: 1182))
        let toClient = ByteBuffer(
            bytes: TransportBytes.data(destinationCID: ServerCoreConnectTests.clientCID, payload: 1182))
        let packets = 100_000
        var forwarded = 0
        var bytes = 0
        let clock = ContinuousClock()
        let elapsed = clock.measure {
            for i in 0..<packets {
                let fromClient = i & 1 == 0
                h.core.receive(
                    fromClient ? toDevice : toClient, from: fromClient ? Addr.client : Addr.device, on: .main,
                    now: h.now)
                while let (datagram, _) = h.core.pollDatagram(now: h.now) {
                    forwarded += 1
                    bytes += datagram.readableBytes
                }
            }
        }
        #expect(forwarded == packets)
        #expect(bytes == packets * 1200)
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        print(
            "RELAY \(packets) packets of 1200 B in \(seconds) s: \(Int(Double(packets) / seconds)) pkt/s, "
                + "\(Int(Double(bytes) * 8 / seconds / 1e6)) Mbit/s (core only)")
    }
}
