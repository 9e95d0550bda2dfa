// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import T2USim
import Testing

@testable import T2UCore

/// A direct path that dies mid-transfer: both ends fall back to the relay inside the same
/// connection within 2 s (streams intact), probe the direct path, and move back once it answers.
@Suite struct PathFailoverSimTests {
    static let relay = RelayScenario.relayAddress
    static let client = TransferScenario.clientAddress
    static let device = TransferScenario.deviceAddress

    static func link(loss: Double) -> LinkConditions {
        var link = LinkConditions()
        link.delay = .milliseconds(20)
        link.jitter = .milliseconds(2)
        link.lossRate = loss
        link.bandwidthBitsPerSecond = 20_000_000
        link.queueLimitBytes = 256 * 1024
        return link
    }

    /// Established on the direct path with the relay as both ends' fallback.
    static func directScenario(
        seed: UInt64, loss: Double, bytes: Int, clientBytes: Int? = nil, clientFallback: Bool = true,
        deviceFallback: Bool = true
    ) throws -> RelayScenario {
        let scenario = RelayScenario(
            seed: seed, streams: 3, bytesPerStream: clientBytes ?? bytes, deviceBytesPerStream: bytes,
            link: link(loss: loss))
        scenario.setDirect(link(loss: loss))
        scenario.network.run(until: scenario.network.now + .seconds(5)) { scenario.device.connection == nil }
        let client = try #require(scenario.client.connection)
        let device = try #require(scenario.device.connection)
        if clientFallback { client.setFallback(relay) }
        if deviceFallback { device.setFallback(relay) }
        return scenario
    }

    /// `clientFallback` false: only the device fails over; the client follows it passively.
    /// `outage`: how long the direct path stays dead after both ends are on the relay (longer
    /// than one round of probes: probing must go on round after round until it answers).
    @Test(arguments: [
        (UInt64(81), 0.0, true, 2), (82, 0.01, true, 2), (83, 0.03, true, 2), (86, 0.0, false, 2),
        (87, 0.0, true, 12), (88, 0.01, false, 12),
    ])
    func deadDirectPathFallsBackAndReturns(seed: UInt64, loss: Double, clientFallback: Bool, outage: Int) throws {
        let scenario = try Self.directScenario(seed: seed, loss: loss, bytes: 3_000_000, clientFallback: clientFallback)
        let network = scenario.network
        let client = try #require(scenario.client.connection)
        let device = try #require(scenario.device.connection)
        network.run(until: network.now + .seconds(1))
        #expect(
            client.peerAddress == Self.device && device.peerAddress == Self.client, "seed \(seed): not direct at first")
        #expect(!scenario.transfer.client.allStreamsReceived, "seed \(seed): transfer ended too early")

        scenario.setDirect(nil)
        let diedAt = network.now
        network.run(until: network.now + .seconds(5)) {
            client.peerAddress != Self.relay || device.peerAddress != Self.relay
        }
        let fellBack = network.now - diedAt
        print(
            "figure: seed \(seed) loss \(loss): direct path dead -> both ends on the relay after \(fellBack.milliseconds) ms"
        )
        #expect(client.peerAddress == Self.relay && device.peerAddress == Self.relay, "seed \(seed): not on the relay")
        #expect(fellBack <= .seconds(2), "seed \(seed): fell back after \(fellBack)")
        #expect(client.failedPath == Self.device || device.failedPath == Self.client)

        network.run(until: network.now + .seconds(Int64(outage)))
        #expect(client.peerAddress == Self.relay, "seed \(seed): left the relay while direct is dead")
        scenario.setDirect(Self.link(loss: loss))
        let backAt = network.now
        network.run(until: network.now + .seconds(5)) {
            client.peerAddress != Self.device || device.peerAddress != Self.client
        }
        let returned = network.now - backAt
        print(
            "figure: seed \(seed) loss \(loss): direct path back -> both ends direct again after \(returned.milliseconds) ms"
        )
        #expect(
            client.peerAddress == Self.device && device.peerAddress == Self.client,
            "seed \(seed): did not return to direct")
        #expect(returned <= .seconds(2), "seed \(seed): returned after \(returned)")

        #expect(scenario.transfer.runTransfer(limit: .seconds(120)), "seed \(seed): transfer incomplete")
        #expect(scenario.transfer.mismatchedStreams.isEmpty, "seed \(seed)")
        #expect(scenario.client.closeReason == nil && scenario.device.closeReason == nil, "seed \(seed)")
    }

    /// A download: the client only ACKs, so nothing of its own goes unanswered when the direct
    /// path dies, and the device follows passively (no fallback of its own, as the C agent):
    /// the client's PING after a PTO of the sender's silence starts the failure clock, so it
    /// falls back within 2 s (not at its 15 s keepalive) and returns once the path is back.
    @Test(arguments: [UInt64(90), 91])
    func receiveOnlyClientNoticesADeadPath(seed: UInt64) throws {
        let scenario = try Self.directScenario(
            seed: seed, loss: 0, bytes: 6_000_000, clientBytes: 0, deviceFallback: false)
        let network = scenario.network
        let client = try #require(scenario.client.connection)
        let device = try #require(scenario.device.connection)
        network.run(until: network.now + .seconds(1))
        #expect(client.peerAddress == Self.device && !scenario.transfer.client.allStreamsReceived, "seed \(seed)")
        scenario.setDirect(nil)
        let diedAt = network.now
        network.run(until: network.now + .seconds(20)) {
            client.peerAddress != Self.relay || device.peerAddress != Self.relay
        }
        let fellBack = network.now - diedAt
        print(
            "figure: seed \(seed): receive-only client, dead direct path -> both on the relay after \(fellBack.milliseconds) ms"
        )
        #expect(client.peerAddress == Self.relay && device.peerAddress == Self.relay, "seed \(seed)")
        #expect(fellBack <= .seconds(2), "seed \(seed): fell back after \(fellBack)")
        network.run(until: network.now + .seconds(3))
        scenario.setDirect(Self.link(loss: 0))
        network.run(until: network.now + .seconds(5)) {
            client.peerAddress != Self.device || device.peerAddress != Self.client
        }
        #expect(
            client.peerAddress == Self.device && device.peerAddress == Self.client,
            "seed \(seed): did not return to direct")
        #expect(scenario.transfer.runTransfer(limit: .seconds(120)), "seed \(seed): transfer incomplete")
        #expect(scenario.transfer.mismatchedStreams.isEmpty, "seed \(seed)")
    }

    /// The NIO shell sends whenever data is ready, so a round of probes to the failed path can
    /// run out inside `pollTransmit` before any timer fires: the next round must start from
    /// there too (in the lab, probing stopped after one round and the link stayed relayed).
    @Test func probingTheFailedPathOutlivesARoundSeenWhileSending() throws {
        let scenario = try Self.directScenario(seed: 89, loss: 0, bytes: 3_000_000)
        let network = scenario.network
        let client = try #require(scenario.client.connection)
        let device = try #require(scenario.device.connection)
        network.run(until: network.now + .seconds(1))
        scenario.setDirect(nil)
        network.run(until: network.now + .seconds(5)) { client.failedPath == nil && device.failedPath == nil }
        // Whichever end failed over first probes its failed path; the other followed it.
        let (prober, failed) = client.failedPath != nil ? (client, Self.device) : (device, Self.client)
        #expect(prober.failedPath == failed && prober.peerAddress == Self.relay)
        // Only sends from here on (no timeouts), across several probe rounds.
        var now = network.now
        var buffer = ByteBuffer()
        var probesToFailedPath = 0
        for _ in 0..<400 {
            now = now + .milliseconds(10)
            for _ in 0..<4 {
                buffer.clear()
                guard let destination = prober.pollTransmit(now: now, into: &buffer) else { break }
                if destination == failed { probesToFailedPath += 1 }
            }
        }
        #expect(prober.failedPath == failed)
        #expect(prober.outstandingPathProbes >= 1, "probing of the failed path stopped")
        #expect(probesToFailedPath > 8, "only \(probesToFailedPath) probes in 4 s: more than one round of 4 expected")
    }

    /// A vanished device (direct and relay silent): the connection fails over, hears nothing
    /// on the relay either, and closes `.peerUnreachable` within 3 s (not the dead-peer 10 s).
    @Test func vanishedDeviceStillClosesThroughTheFallback() throws {
        let scenario = try Self.directScenario(seed: 84, loss: 0, bytes: 3_000_000)
        let network = scenario.network
        network.run(until: network.now + .milliseconds(500))
        var dark = LinkConditions()
        dark.lossRate = 1
        scenario.setDirect(nil)
        network.setLinks(between: Self.device, and: Self.relay, dark)
        let vanishedAt = network.now
        network.run(until: network.now + .seconds(30)) { scenario.client.closeReason == nil }
        let took = network.now - vanishedAt
        print(
            "figure: device vanished -> client closed \(String(describing: scenario.client.closeReason)) after \(took.milliseconds) ms"
        )
        #expect(scenario.client.closeReason == .peerUnreachable)
        #expect(took <= .seconds(3))
    }

    /// A relay-only connection never fails over to a direct path (the policy wins).
    @Test func fallbackRespectsThePolicy() {
        let scenario = RelayScenario(
            seed: 85, streams: 1, bytesPerStream: 1000, link: Self.link(loss: 0),
            clientPathPolicy: .directOnly(relay: Self.relay))
        scenario.client.connection?.setFallback(Self.relay)
        scenario.setDirect(Self.link(loss: 0))
        #expect(scenario.transfer.runTransfer(limit: .seconds(10)))
        scenario.client.connection?.setFallback(Self.relay)
        #expect(scenario.client.connection?.fallbackAddress == nil)
    }
}
