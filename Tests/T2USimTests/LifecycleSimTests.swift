// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import T2USim
import Testing

@testable import T2UCore

@Suite struct LifecycleSimTests {
    static func link() -> LinkConditions {
        var link = LinkConditions()
        link.delay = .milliseconds(10)
        return link
    }

    /// An idle connection stays up through keepalives (< 25 s apart) and dies once the path
    /// goes dark: the next keepalive goes unanswered, so the dead-peer rule closes it within
    /// keepalive + dead-peer timeout, well before the idle timeout.
    @Test func keepaliveHoldsAndIdleTimeoutFires() throws {
        let scenario = TransferScenario(seed: 51, streams: 1, bytesPerStream: 100, link: Self.link())
        #expect(scenario.runTransfer(limit: .seconds(5)))
        let client = try #require(scenario.client.connection)
        let device = try #require(scenario.device.connection)
        let sentBefore = client.stats.packetsSent
        scenario.network.run(until: scenario.network.now + .seconds(120))
        #expect(client.state == .established && device.state == .established)
        let keepalives = client.stats.packetsSent - sentBefore
        #expect(keepalives >= 120 / 25, "only \(keepalives) packets in 120 idle seconds")

        var dark = Self.link()
        dark.lossRate = 1
        scenario.network.setLink(from: TransferScenario.clientAddress, to: TransferScenario.deviceAddress, dark)
        scenario.network.setLink(from: TransferScenario.deviceAddress, to: TransferScenario.clientAddress, dark)
        let config = TransportConfig()
        scenario.network.run(
            until: scenario.network.now + config.keepaliveInterval + config.deadPeerTimeout + .seconds(2))
        #expect(scenario.client.closeReason == .peerUnreachable)
        #expect(scenario.device.closeReason == .peerUnreachable)
    }

    @Test func closeIsReportedToThePeer() throws {
        let scenario = TransferScenario(seed: 52, streams: 1, bytesPerStream: 100, link: Self.link())
        #expect(scenario.runTransfer(limit: .seconds(5)))
        let client = try #require(scenario.client.connection)
        client.close(errorCode: 42, reason: "bye", now: scenario.network.now)
        scenario.network.run(until: scenario.network.now + .seconds(2))
        #expect(scenario.device.closeReason == .peer(errorCode: 42, reason: "bye"))
        #expect(scenario.client.closeReason == .local(errorCode: 42))
        #expect(client.state == .closed)
    }

    /// A reset aborts one stream on both sides; the other streams are untouched.
    @Test func resetAbortsOnlyThatStream() throws {
        var link = Self.link()
        link.bandwidthBitsPerSecond = 10_000_000
        let scenario = TransferScenario(seed: 53, streams: 3, bytesPerStream: 2_000_000, link: link)
        scenario.network.run(until: scenario.network.now + .milliseconds(300))
        let client = try #require(scenario.client.connection)
        let victim = StreamID(rawValue: 2)
        client.reset(victim, errorCode: 7)
        scenario.network.run(until: scenario.network.now + .seconds(60)) {
            !(scenario.client.incoming.filter { $0.key != victim }.allSatisfy { $0.value.finished }
                && scenario.device.incoming.filter { $0.key != victim }.allSatisfy { $0.value.finished })
        }
        let deviceSawReset = scenario.device.events.contains(.streamReset(victim, errorCode: 7))
        #expect(deviceSawReset)
        #expect(scenario.device.incoming[victim]?.finished == false, "the reset stream must not complete")
        #expect(scenario.mismatchedStreams.filter { $0 != victim }.isEmpty)
        for id in [StreamID(rawValue: 0), StreamID(rawValue: 4)] {
            #expect(scenario.device.incoming[id]?.finished == true, "\(id) did not finish")
        }
        #expect(client.streams[victim] == nil)
        #expect(scenario.device.connection?.streams[victim] == nil)
    }

    /// A stream opened without data is announced at once, so a device can connect to a service
    /// that speaks first (SSH, SMTP) before the client sends anything. Survives loss.
    @Test func openingAStreamAnnouncesItBeforeAnyData() throws {
        var link = Self.link()
        link.lossRate = 0.3
        let scenario = TransferScenario(seed: 54, streams: 0, bytesPerStream: 0, link: link)
        scenario.network.run(until: scenario.network.now + .seconds(20)) {
            scenario.device.connection?.state != .established || scenario.client.connection?.state != .established
        }
        let client = try #require(scenario.client.connection)
        let id = try client.openStream()
        scenario.network.run(until: scenario.network.now + .seconds(20)) {
            !scenario.device.events.contains(.streamOpened(id))
        }
        #expect(scenario.device.events.contains(.streamOpened(id)))
    }
}
