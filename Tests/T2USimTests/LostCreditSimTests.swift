// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import T2USim
import Testing

@testable import T2UCore

/// A credit update lost on its way must not hold the sender for long. Seen in the simulator at
/// 100 Mbit/s, 160 ms and 5 % loss: the receiver's MAX_STREAM_DATA was lost while it had
/// nothing else in flight, so only its probe timeout (over half a second) and a round trip more
/// brought the credit back, and the sender sat idle meanwhile. Now the blocked sender says so
/// (STREAM_DATA_BLOCKED / DATA_BLOCKED, RFC 9000 §4.1) and the receiver answers with its
/// current limits, and a probe repeats the credit it carries.
@Suite struct LostCreditSimTests {
    /// Windows that never grow (64 KiB per stream, 128 KiB per connection), so the sender waits
    /// for every update; everything the receiver sends during `blackout` is lost.
    @Test(arguments: [false, true])
    func aBlockedSenderGetsLostCreditBackWithinARoundTrip(connectionBinds: Bool) throws {
        var config = TransportConfig()
        config.initialStreamWindow = connectionBinds ? 256 * 1024 : 64 * 1024
        config.maxStreamWindow = config.initialStreamWindow
        config.initialConnectionWindow = connectionBinds ? 64 * 1024 : 256 * 1024
        config.maxConnectionWindow = config.initialConnectionWindow
        let rtt = Nanos.milliseconds(100)
        let pair = EndpointHostPair(seed: 23, config: config, link: .wan(rateMbit: 100, rttMs: 100, loss: 0))
        let (net, client, device) = (pair.net, pair.client, pair.device)
        let deviceAddress = EndpointHostPair.deviceAddress

        // Device: reads everything at once; records when bytes arrive.
        var received = 0
        var arrivals: [(Instant, Int)] = []
        device.onActivity = { host, now in
            guard let connection = host.accepted.first else { return }
            var opened: [StreamID] = []
            while let event = connection.pollEvent() {
                if case .streamOpened(let id) = event { opened.append(id) }
                if case .streamReadable(let id) = event { opened.append(id) }
            }
            for id in opened {
                while case .data(let bytes)? = try? connection.read(id, maxBytes: .max) {
                    received += bytes.readableBytes
                    arrivals.append((now, received))
                }
            }
        }
        // Client: keeps one stream full.
        let connection = client.connect(to: deviceAddress, remoteStaticKey: pair.deviceKey, now: net.now)
        let chunk = ByteBuffer(repeating: 0x42, count: 64 * 1024)
        var bulk: StreamID?
        client.onActivity = { _, _ in
            while connection.pollEvent() != nil {}
            guard connection.state == .established else { return }
            if bulk == nil { bulk = try? connection.openStream() }
            guard let bulk else { return }
            while let accepted = try? connection.write(chunk, to: bulk), accepted > 0 {}
        }
        net.run(until: net.now + .seconds(1))
        let before = received
        #expect(before > 0, "nothing flowed before the blackout")

        // The receiver's packets (ACKs and credit) vanish for a little under a round trip: the
        // update that would have let the sender on is lost, and the sender's flight drains.
        let blackoutEnd = net.now + rtt * 8 / 10
        net.refuseSend = { from, _ in from == deviceAddress && net.now < blackoutEnd }
        net.run(until: net.now + .seconds(2))

        // The longest pause in arrivals after the blackout: a blocked sender waiting for the
        // receiver's probe timeout would pause for several round trips.
        let after = arrivals.filter { $0.0 >= blackoutEnd - rtt }
        var longest = Nanos.zero
        for (previous, next) in zip(after, after.dropFirst()) { longest = max(longest, next.0 - previous.0) }
        print("lost credit (connection binds: \(connectionBinds)): longest pause \(longest)")
        #expect(received > before, "nothing flowed after the blackout")
        // Measured 218 ms with the fix (the blackout, then a round trip), 329 ms without it.
        #expect(longest <= rtt * 5 / 2, "the sender waited \(longest) for credit")
    }
}
