// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import T2USim
import Testing

@testable import T2UCore

/// A stream discarded with bytes its reader never consumed returns that connection credit to
/// the peer at once (MAX_DATA), not at the next read of some other stream. Seen in the lab at
/// 40 ms RTT and 1 % loss: iperf3's data stream held megabytes past a hole when the device
/// closed it, the sender had used its connection credit, and with no stream left to read the
/// credit never went back: iperf3's control stream (its results) stalled for good.
@Suite struct ResetCreditSimTests {
    @Test(arguments: [false, true])
    func resetOfAnUnreadStreamHandsItsCreditBack(deviceResets: Bool) throws {
        // The connection window binds before the stream window: one unread stream can take it all.
        var config = TransportConfig()
        config.initialConnectionWindow = 1024 * 1024
        config.initialStreamWindow = 4 * 1024 * 1024
        let pair = EndpointHostPair(seed: 71, config: config, link: .wan(rateMbit: 100, rttMs: 40, loss: 0))
        let (net, client, device) = (pair.net, pair.client, pair.device)

        // Device: never reads the first stream; reads every later one in full.
        var firstStream: StreamID?
        var resetNow = false
        var received: [StreamID: Int] = [:]
        var finished: Set<StreamID> = []
        device.onActivity = { host, _ in
            guard let connection = host.accepted.first else { return }
            while let event = connection.pollEvent() {
                if case .streamOpened(let id) = event, firstStream == nil { firstStream = id }
                if case .streamOpened(let id) = event, id != firstStream { received[id] = 0 }
            }
            if resetNow, let id = firstStream {
                connection.reset(id, errorCode: 0)
                resetNow = false
            }
            for id in received.keys where !finished.contains(id) {
                reading: while true {
                    switch (try? connection.read(id, maxBytes: .max)) ?? .wouldBlock {
                    case .data(let bytes): received[id, default: 0] += bytes.readableBytes
                    case .fin:
                        finished.insert(id)
                        break reading
                    case .wouldBlock: break reading
                    }
                }
            }
        }

        // Client: fills the first stream until the connection credit is gone.
        let connection = client.connect(
            to: EndpointHostPair.deviceAddress, remoteStaticKey: pair.deviceKey, now: net.now)
        let chunk = ByteBuffer(repeating: 0x42, count: 64 * 1024)
        var bulk: StreamID?
        var written = 0
        client.onActivity = { _, _ in
            while connection.pollEvent() != nil {}
            guard connection.state == .established else { return }
            if bulk == nil { bulk = try? connection.openStream() }
            guard let bulk else { return }
            while written < 8 * 1024 * 1024, let accepted = try? connection.write(chunk, to: bulk), accepted > 0 {
                written += accepted
            }
        }
        net.run(until: net.now + .seconds(3))
        let device0 = try #require(device.accepted.first)
        #expect(
            device0.perStreamState.unreturnedCredit == UInt64(config.initialConnectionWindow),
            "the first stream holds the whole window")

        // The first stream goes away unread, from either end.
        if deviceResets {
            resetNow = true
            device.onActivity?(device, net.now)
        } else {
            connection.reset(try #require(bulk), errorCode: 0)
        }
        net.run(until: net.now + .milliseconds(200))

        // A new stream must get through on the credit the discarded one returned.
        let next = try connection.openStream()
        let message = ByteBuffer(repeating: 0x43, count: 100_000)
        var sent = 0
        client.onActivity = { _, _ in
            while connection.pollEvent() != nil {}
            if sent < message.readableBytes,
                let accepted = try? connection.write(
                    message.getSlice(at: sent, length: message.readableBytes - sent)!, to: next)
            {
                sent += accepted
                if sent == message.readableBytes { try? connection.finish(next) }
            }
        }
        client.onActivity?(client, net.now)
        net.run(until: net.now + .seconds(3)) { !finished.contains(next) }
        #expect(finished.contains(next), "the new stream got \(received[next] ?? 0) of \(message.readableBytes) bytes")
        #expect(received[next] == message.readableBytes)
    }
}
