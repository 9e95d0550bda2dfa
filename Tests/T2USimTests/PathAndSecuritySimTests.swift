// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import T2USim
import Testing

@testable import T2UCore

@Suite struct PathAndSecuritySimTests {
    /// The client's NAT rebinds to a new public port in the middle of a transfer: the connection
    /// follows the new address after validating it and every stream completes intact.
    @Test(arguments: [UInt64(21), 22, 23])
    func rebindingMidTransferLosesNoStream(seed: UInt64) {
        var link = LinkConditions()
        link.delay = .milliseconds(15)
        link.lossRate = 0.01
        link.bandwidthBitsPerSecond = 20_000_000
        link.queueLimitBytes = 128 * 1024
        let scenario = TransferScenario(seed: seed, streams: 6, bytesPerStream: 400 * 1024, link: link)
        let rebound = NetAddress(ipv4: (198, 51, 100, 10), port: 41234)
        scenario.network.setLink(from: rebound, to: TransferScenario.deviceAddress, link)
        scenario.network.setLink(from: TransferScenario.deviceAddress, to: rebound, link)
        scenario.network.schedule(at: scenario.network.now + .milliseconds(600)) {
            scenario.network.rebind(scenario.client, to: rebound)
        }
        let done = scenario.runTransfer(limit: .seconds(120))
        #expect(done, "seed \(seed): transfer did not complete after rebinding")
        #expect(scenario.mismatchedStreams.isEmpty, "seed \(seed)")
        #expect(
            scenario.device.connection?.peerAddress == rebound, "seed \(seed): device still sends to the old address")
        #expect(scenario.device.events.contains(.pathChanged(rebound)), "seed \(seed): no validated path change")
    }

    /// A tampered packet is dropped (and counted); a replayed packet is dropped; neither
    /// disturbs the stream.
    @Test func tamperedAndReplayedPacketsAreDropped() {
        let scenario = TransferScenario(seed: 31, streams: 2, bytesPerStream: 200 * 1024, link: LinkConditions())
        var captured: [ByteBuffer] = []
        scenario.network.onDeliver = { datagram, from, to in
            if to == TransferScenario.deviceAddress, datagram.readableBytes > 100, captured.count < 40 {
                captured.append(datagram)
            }
        }
        #expect(scenario.runTransfer(limit: .seconds(10)))
        let device = try! #require(scenario.device.connection)
        let rejectedBefore = device.stats.packetsRejected
        let receivedBefore = device.stats.packetsReceived
        var injected = 0
        for (index, original) in captured.enumerated()
        where PacketType.classify(original.getInteger(at: original.readerIndex)!) == .dataKeyPhase0 {
            // Replay as is.
            device.receive(original, from: TransferScenario.clientAddress, now: scenario.network.now)
            // Flip one bit of the ciphertext or of the clear header (both are authenticated).
            var tampered = original
            let position = tampered.readerIndex + (index % 2 == 0 ? 40 : 12)
            tampered.setInteger(tampered.getInteger(at: position, as: UInt8.self)! ^ 0x10, at: position)
            device.receive(tampered, from: TransferScenario.clientAddress, now: scenario.network.now)
            injected += 2
        }
        #expect(injected > 0)
        #expect(device.stats.packetsReceived == receivedBefore, "a replayed or tampered packet was accepted")
        #expect(device.stats.packetsRejected == rejectedBefore + UInt64(injected))
        #expect(device.state == .established)
        #expect(scenario.mismatchedStreams.isEmpty)
    }

    /// A slow reader: the receiver's buffered bytes never exceed what it advertised, per stream
    /// and for the connection.
    @Test func receiverNeverBuffersBeyondAdvertisedWindows() {
        var config = TransportConfig()
        config.initialStreamWindow = 64 * 1024
        config.maxStreamWindow = 256 * 1024
        config.initialConnectionWindow = 192 * 1024
        config.maxConnectionWindow = 512 * 1024
        var link = LinkConditions()
        link.delay = .milliseconds(5)
        link.bandwidthBitsPerSecond = 100_000_000
        let scenario = TransferScenario(
            seed: 41, config: config, streams: 8, bytesPerStream: 512 * 1024,
            deviceBytesPerStream: 0, link: link)
        // The device's application stalls for 3 s, then reads slowly.
        scenario.device.reading = false
        scenario.device.readBudgetPerPump = 4000
        scenario.network.schedule(at: scenario.network.now + .seconds(3)) { scenario.device.reading = true }
        var violations: [String] = []
        var peakConnectionBuffered = 0
        scenario.device.observer = { connection, now in
            var total = 0
            for (id, stream) in connection.streams {
                total += stream.recv.bufferedBytes
                if UInt64(stream.recv.bufferedBytes) > stream.recv.advertisedMaxData, violations.count < 5 {
                    violations.append(
                        "\(id) buffered \(stream.recv.bufferedBytes) > \(stream.recv.advertisedMaxData) at \(now)")
                }
                if stream.recv.bufferedBytes > config.maxStreamWindow, violations.count < 5 {
                    violations.append("\(id) buffered \(stream.recv.bufferedBytes) beyond the max stream window")
                }
            }
            peakConnectionBuffered = max(peakConnectionBuffered, total)
            if total > config.maxConnectionWindow, violations.count < 5 {
                violations.append("connection buffered \(total) > max window \(config.maxConnectionWindow)")
            }
        }
        let done = scenario.runTransfer(limit: .seconds(600))
        #expect(done)
        #expect(violations.isEmpty, "\(violations)")
        // The stall really filled the windows (so the bound above was tested).
        #expect(peakConnectionBuffered >= config.initialConnectionWindow / 2, "peak \(peakConnectionBuffered)")
        #expect(scenario.mismatchedStreams.isEmpty)
    }
}
