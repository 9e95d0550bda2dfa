// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import T2USim
import Testing

@testable import T2UCore

/// The device's listener under attack, with the real responder on the simulator's virtual clock.
@Suite struct HandshakeUnderAttackSimTests {
    static let clientAddress = NetAddress(ipv4: (198, 51, 100, 10), port: 40000)
    static let deviceAddress = NetAddress(ipv4: (203, 0, 113, 20), port: 50000)

    /// ~5000 pps of random initiation-sized junk plus ~2000 pps of valid-mac1 initiations from
    /// spoofed sources for 2 s; a genuine client connecting in the middle still completes in
    /// under 100 ms (10 ms one-way delay: two round trips when it needs a cookie).
    @Test func genuineClientCompletesUnderJunkAndSpoofedFlood() throws {
        let network = SimulatedNetwork(seed: 91)
        let deviceEntropy = SeededEntropy(seed: 92)
        let deviceIdentity = StaticIdentity.generate(deviceEntropy)
        let device = EndpointHost(
            address: Self.deviceAddress,
            options: .init(
                config: TransportConfig(), identity: deviceIdentity, acceptIncoming: true), entropy: deviceEntropy)
        let clientEntropy = SeededEntropy(seed: 93)
        let client = EndpointHost(
            address: Self.clientAddress,
            options: .init(
                config: TransportConfig(), identity: .generate(clientEntropy), acceptIncoming: false),
            entropy: clientEntropy)
        network.add(device)
        network.add(client)
        var link = LinkConditions()
        link.delay = .milliseconds(10)
        network.setLinks(between: Self.clientAddress, and: Self.deviceAddress, link)

        let attacker = SeededEntropy(seed: 94)
        let spoofers = TransportEndpoint(
            options: .init(config: TransportConfig(), identity: .generate(attacker), acceptIncoming: false),
            entropy: attacker)
        var scratch = ByteBufferAllocator().buffer(capacity: 2048)
        let floodLength = Nanos.seconds(2)
        for index in 0..<10_000 {  // 5000 pps
            var junk = attacker.bytes(HandshakeLayout.initiationLength)
            junk[0] = PacketType.handshakeInitiation.rawValue
            let source = NetAddress(host: .v4(UInt32(truncatingIfNeeded: attacker.nextUInt64())), port: 1024)
            network.schedule(at: .zero + Nanos(Int64(index) * 200_000)) {
                device.receive(ByteBuffer(bytes: junk), from: source, now: network.now)
            }
        }
        for index in 0..<4_000 {  // 2000 pps, valid mac1 (the attacker knows the device key)
            _ = spoofers.connect(
                to: Self.deviceAddress, remoteStaticKey: deviceIdentity.publicKey, password: nil, now: .zero)
            guard spoofers.pollTransmit(now: .zero, into: &scratch) != nil else {
                Issue.record("no initiation")
                return
            }
            let initiation = scratch
            let source = NetAddress(host: .v4(UInt32(truncatingIfNeeded: attacker.nextUInt64())), port: 2048)
            network.schedule(at: .zero + Nanos(Int64(index) * 500_000)) {
                device.receive(initiation, from: source, now: network.now)
            }
        }
        var connection: Connection?
        let connectAt = Instant.zero + .milliseconds(1_000)
        network.schedule(at: connectAt) {
            connection = client.connect(
                to: Self.deviceAddress, remoteStaticKey: deviceIdentity.publicKey, now: network.now)
        }
        let clock = ContinuousClock()
        let started = clock.now
        network.run(until: .zero + floodLength) { connection?.state != .established }
        let cpu = clock.now - started
        let established = try #require(connection)
        #expect(established.state == .established)
        let setup = try #require(established.handshakeDuration)
        print(
            "handshake under flood (5000 pps junk + 2000 pps spoofed valid-mac1, 10 ms one-way): setup \(setup.milliseconds) ms; "
                + "mac1 failures \(device.endpoint.initiationsFailingMac1), cookie replies \(device.endpoint.cookieRepliesSent), "
                + "rate-limited \(device.endpoint.handshakesRateLimited), sessions made for spoofers \(device.accepted.count); "
                + "wall time to process the flood until then: \(cpu)")
        #expect(setup < .milliseconds(100))
        #expect(device.endpoint.cookieRepliesSent > 0, "the flood never put the device under load")
        // Spoofed sources got at most half the handshake budget (100/s over ~1 s, plus the burst).
        #expect(device.accepted.count <= 250)
    }

    /// RFC 9000 §8: packets of the connection arrive from a new address (an on-path attacker
    /// rewrote the source to a victim's, or a NAT rebound) while replies there go nowhere; until
    /// that address is validated the device sends it at most 3x what came from it, although it
    /// has megabytes queued for the client.
    @Test func unvalidatedAddressGetsAtMostThreeTimesWhatItSent() throws {
        var link = LinkConditions()
        link.delay = .milliseconds(10)
        link.bandwidthBitsPerSecond = 50_000_000
        let scenario = TransferScenario(
            seed: 95, streams: 2, bytesPerStream: 16 * 1024, deviceBytesPerStream: 8 * 1024 * 1024, link: link)
        let victim = NetAddress(ipv4: (192, 0, 2, 99), port: 7777)
        var blackHole = link
        blackHole.lossRate = 1.0
        scenario.network.setLink(from: victim, to: TransferScenario.deviceAddress, link)
        scenario.network.setLink(from: TransferScenario.deviceAddress, to: victim, blackHole)
        scenario.network.schedule(at: .zero + .milliseconds(400)) {
            scenario.network.rebind(scenario.client, to: victim)
        }
        // The client's upload is done by then and the device's packets to its old address are
        // lost: only what the client sends itself (a PING every 100 ms, as an application
        // keepalive would) comes from the new address.
        for tick in 0..<9 {
            scenario.network.schedule(at: .zero + .milliseconds(400 + 100 * Int64(tick))) {
                scenario.client.connection?.pingPending = true
            }
        }
        scenario.network.run(until: .zero + .milliseconds(1_300))
        let toVictim = scenario.network.linkStats(from: TransferScenario.deviceAddress, to: victim).bytesSent
        let fromVictim = scenario.network.linkStats(from: victim, to: TransferScenario.deviceAddress).bytesDelivered
        let toClientBefore = scenario.network.linkStats(
            from: TransferScenario.deviceAddress, to: TransferScenario.clientAddress
        ).bytesSent
        print(
            "unvalidated path: device sent \(toVictim) B to the new address after receiving \(fromVictim) B from it "
                + "(\(fromVictim > 0 ? Double(toVictim) / Double(fromVictim) : 0)x); \(toClientBefore) B to the validated one before"
        )
        #expect(fromVictim > 0, "nothing came from the new address")
        #expect(toVictim > 0, "the device never tried the new address")
        #expect(toVictim <= 3 * fromVictim)
    }
}
