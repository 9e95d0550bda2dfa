// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import T2USim
import Testing

@testable import T2UCore

/// A relay like the server's: forwards the client's datagrams to the device and the device's to
/// the client, from its own address (so each side sees the relay as the sender).
final class RelayHost: SimulatedHost {
    let address: NetAddress
    let client: NetAddress
    let device: NetAddress
    private var outbox: [(ByteBuffer, NetAddress)] = []
    private(set) var forwarded = 0

    init(address: NetAddress, client: NetAddress, device: NetAddress) {
        self.address = address
        self.client = client
        self.device = device
    }

    func receive(_ datagram: ByteBuffer, from: NetAddress, now: Instant) {
        if from == client {
            outbox.append((datagram, device))
        } else if from == device {
            outbox.append((datagram, client))
        }
    }

    func pollTransmit(now: Instant, into buffer: inout ByteBuffer) -> NetAddress? {
        guard !outbox.isEmpty else { return nil }
        let (datagram, destination) = outbox.removeFirst()
        buffer.clear()
        buffer.writeImmutableBuffer(datagram)
        forwarded += 1
        return destination
    }

    func nextDeadline() -> Instant? { nil }
    func handleTimeout(now: Instant) {}
}

/// Relay-first sessions that move to a direct path inside the same connection.
struct RelayScenario {
    static let relayAddress = NetAddress(ipv4: (192, 0, 2, 1), port: 7000)
    let transfer: TransferScenario
    let relay: RelayHost
    var network: SimulatedNetwork { transfer.network }
    var client: TransferHost { transfer.client }
    var device: TransferHost { transfer.device }

    /// The direct path is dark at first: the handshake completes through the relay.
    init(
        seed: UInt64, streams: Int, bytesPerStream: Int, deviceBytesPerStream: Int? = nil, link: LinkConditions,
        clientPathPolicy: PathPolicy = .any
    ) {
        transfer = TransferScenario(
            seed: seed, streams: streams, bytesPerStream: bytesPerStream,
            deviceBytesPerStream: deviceBytesPerStream, link: link, clientPathPolicy: clientPathPolicy)
        relay = RelayHost(
            address: Self.relayAddress, client: TransferScenario.clientAddress,
            device: TransferScenario.deviceAddress)
        transfer.network.add(relay)
        var half = link
        half.delay = link.delay / 2 + .milliseconds(2)
        for end in [TransferScenario.clientAddress, TransferScenario.deviceAddress] {
            transfer.network.setLinks(between: end, and: Self.relayAddress, half)
        }
        setDirect(nil)
        transfer.client.connection?.sendHandshake(alsoTo: Self.relayAddress, now: transfer.network.now)
    }

    /// Opens the direct path with `link`, or makes it drop everything (nil).
    func setDirect(_ link: LinkConditions?) {
        var dark = LinkConditions()
        dark.lossRate = 1
        network.setLinks(between: TransferScenario.clientAddress, and: TransferScenario.deviceAddress, link ?? dark)
    }

    /// Probes the device's address and migrates there once validated; false if it never did.
    func probeAndMigrate(within limit: Nanos = .seconds(5)) -> Bool {
        let connection = client.connection!
        let target = TransferScenario.deviceAddress
        connection.probePath(to: target, now: network.now)
        network.run(until: network.now + limit) { !client.events.contains(.pathValidated(target)) }
        guard client.events.contains(.pathValidated(target)) else { return false }
        connection.migrate(to: target, now: network.now)
        return true
    }
}

@Suite struct PathMigrationSimTests {
    static func link(loss: Double) -> LinkConditions {
        var link = LinkConditions()
        link.delay = .milliseconds(20)
        link.jitter = .milliseconds(2)
        link.lossRate = loss
        link.reorderRate = loss > 0 ? 0.02 : 0
        link.reorderDelay = .milliseconds(5)
        link.bandwidthBitsPerSecond = 20_000_000
        link.queueLimitBytes = 256 * 1024
        return link
    }

    /// Relay first; mid-transfer of several streams the client validates the direct path and
    /// migrates: every stream arrives byte-exact (SHA-256) and both ends end up direct.
    @Test(arguments: [(UInt64(61), 0.0), (62, 0.01), (63, 0.05)])
    func relayToDirectMidTransferIsByteExact(seed: UInt64, loss: Double) throws {
        let link = Self.link(loss: loss)
        let scenario = RelayScenario(seed: seed, streams: 5, bytesPerStream: 600 * 1024, link: link)
        scenario.network.run(until: scenario.network.now + .seconds(5)) { scenario.client.handshakeCompletedAt == nil }
        let client = try #require(scenario.client.connection)
        #expect(client.state == .established, "seed \(seed): no handshake through the relay")
        #expect(client.peerAddress == RelayScenario.relayAddress, "seed \(seed)")
        scenario.network.run(until: scenario.network.now + .milliseconds(400))
        let receivedBefore = scenario.client.streamBytesReceived + scenario.device.streamBytesReceived
        #expect(receivedBefore > 0, "seed \(seed): nothing flowed over the relay")
        #expect(!scenario.transfer.client.allStreamsReceived, "seed \(seed): transfer ended before the switch")

        scenario.setDirect(link)
        #expect(scenario.probeAndMigrate(), "seed \(seed): direct path never validated")
        #expect(client.peerAddress == TransferScenario.deviceAddress)
        let forwardedAtSwitch = scenario.relay.forwarded
        #expect(scenario.transfer.runTransfer(limit: .seconds(120)), "seed \(seed): transfer did not complete")
        #expect(scenario.transfer.mismatchedStreams.isEmpty, "seed \(seed)")
        #expect(
            scenario.device.connection?.peerAddress == TransferScenario.clientAddress,
            "seed \(seed): the device still sends via the relay")
        #expect(client.peerAddress == TransferScenario.deviceAddress, "seed \(seed): the client went back to the relay")
        // After the switch the relay carries only stragglers, not the transfer.
        #expect(
            scenario.relay.forwarded - forwardedAtSwitch < 400,
            "seed \(seed): relay forwarded \(scenario.relay.forwarded - forwardedAtSwitch) after the switch")
        #expect(scenario.client.closeReason == nil && scenario.device.closeReason == nil)
    }

    /// The initiation goes direct and (sendHandshake(alsoTo:)) through the relay; the device's
    /// direct replies are lost. The device answers the relayed duplicate where it came from,
    /// so the handshake completes through the relay and data flows.
    @Test func duplicateInitiationIsAnsweredWhereItCameFrom() throws {
        let seed: UInt64 = 69
        let link = Self.link(loss: 0)
        let scenario = RelayScenario(seed: seed, streams: 2, bytesPerStream: 100 * 1024, link: link)
        var dark = LinkConditions()
        dark.lossRate = 1
        scenario.network.setLink(from: TransferScenario.clientAddress, to: TransferScenario.deviceAddress, link)
        scenario.network.setLink(from: TransferScenario.deviceAddress, to: TransferScenario.clientAddress, dark)
        #expect(scenario.transfer.runTransfer(limit: .seconds(20)), "seed \(seed)")
        let client = try #require(scenario.client.connection)
        #expect(client.peerAddress == RelayScenario.relayAddress)
        #expect(
            scenario.client.handshakeCompletedAt.map { $0 < Instant.zero + .milliseconds(150) } == true,
            "seed \(seed): handshake waited for a retransmission: \(String(describing: scenario.client.handshakeCompletedAt))"
        )
        #expect(scenario.transfer.mismatchedStreams.isEmpty)
    }

    /// Two copies of one initiation arrive before the responder sends anything (direct and a
    /// LAN candidate in one read batch): each source gets the reply, the first one first.
    @Test func simultaneousCopiesEachGetTheReply() throws {
        let clientEntropy = SeededEntropy(seed: 90)
        let deviceEntropy = SeededEntropy(seed: 91)
        let deviceIdentity = StaticIdentity.generate(deviceEntropy)
        let client = TransportEndpoint(
            options: .init(
                config: TransportConfig(), identity: .generate(clientEntropy),
                acceptIncoming: false), entropy: clientEntropy)
        let device = TransportEndpoint(
            options: .init(config: TransportConfig(), identity: deviceIdentity, acceptIncoming: true),
            entropy: deviceEntropy)
        let first = NetAddress(ipv4: (127, 0, 0, 1), port: 4000)
        let second = NetAddress(ipv4: (192, 0, 2, 2), port: 4000)
        _ = client.connect(
            to: NetAddress(ipv4: (127, 0, 0, 1), port: 5000), remoteStaticKey: deviceIdentity.publicKey,
            password: nil, now: .zero)
        var buffer = ByteBuffer()
        _ = try #require(client.pollTransmit(now: .zero, into: &buffer))
        let initiation = buffer
        device.receive(initiation, from: first, now: .zero)
        device.receive(initiation, from: second, now: .zero)
        device.receive(initiation, from: second, now: .zero)
        var destinations: [NetAddress] = []
        while let to = device.pollTransmit(now: .zero, into: &buffer) { destinations.append(to) }
        #expect(destinations == [first, second])
    }

    /// Direct -> relay -> direct during one transfer: still byte-exact.
    @Test func migrateBackAndForth() throws {
        let seed: UInt64 = 64
        let link = Self.link(loss: 0.01)
        let scenario = RelayScenario(seed: seed, streams: 4, bytesPerStream: 1_000_000, link: link)
        scenario.setDirect(link)
        scenario.network.run(until: scenario.network.now + .seconds(5)) { scenario.client.handshakeCompletedAt == nil }
        let client = try #require(scenario.client.connection)
        var switches = 0
        for round in 0..<4 {
            scenario.network.run(until: scenario.network.now + .milliseconds(250))
            let target =
                client.peerAddress == RelayScenario.relayAddress
                ? TransferScenario.deviceAddress : RelayScenario.relayAddress
            client.probePath(to: target, now: scenario.network.now)
            let count = scenario.client.events.filter { $0 == .pathValidated(target) }.count
            scenario.network.run(until: scenario.network.now + .seconds(5)) {
                scenario.client.events.filter { $0 == .pathValidated(target) }.count == count
            }
            guard scenario.client.events.filter({ $0 == .pathValidated(target) }).count > count else {
                Issue.record("seed \(seed): round \(round) \(target) never validated")
                return
            }
            client.migrate(to: target, now: scenario.network.now)
            #expect(client.peerAddress == target)
            switches += 1
        }
        #expect(switches == 4)
        let final = client.peerAddress
        #expect(scenario.transfer.runTransfer(limit: .seconds(120)), "seed \(seed)")
        #expect(scenario.transfer.mismatchedStreams.isEmpty, "seed \(seed)")
        #expect(client.peerAddress == final, "seed \(seed): the client left the path it chose")
        #expect(scenario.client.closeReason == nil && scenario.device.closeReason == nil)
    }

    /// A probe to a black hole fails after its attempts; data keeps flowing meanwhile.
    @Test func probeToBlackHoleFailsCleanly() throws {
        let seed: UInt64 = 65
        let scenario = TransferScenario(seed: seed, streams: 3, bytesPerStream: 800 * 1024, link: Self.link(loss: 0.01))
        scenario.network.run(until: scenario.network.now + .milliseconds(500))
        let client = try #require(scenario.client.connection)
        let hole = NetAddress(ipv4: (203, 0, 113, 99), port: 1234)
        client.probePath(to: hole, attempts: 3, now: scenario.network.now)
        #expect(scenario.runTransfer(limit: .seconds(60)), "seed \(seed)")
        scenario.network.run(until: scenario.network.now + .seconds(3))
        #expect(scenario.client.events.filter { $0 == .pathProbeFailed(hole) }.count == 1)
        #expect(!scenario.client.events.contains(.pathValidated(hole)))
        #expect(client.peerAddress == TransferScenario.deviceAddress)
        #expect(client.outstandingPathProbes == 0)
        #expect(scenario.mismatchedStreams.isEmpty)
    }

    /// Probing-only packets arriving from a new address (someone testing a path to us) do not
    /// move the peer; the prober is answered where the probe came from.
    @Test func probingOnlyPacketsDoNotMoveThePeer() throws {
        let seed: UInt64 = 66
        let link = Self.link(loss: 0)
        let scenario = RelayScenario(seed: seed, streams: 2, bytesPerStream: 50 * 1024, link: link)
        // Handshake and transfer through the relay only; then the direct path opens.
        #expect(scenario.transfer.runTransfer(limit: .seconds(30)))
        let client = try #require(scenario.client.connection)
        let device = try #require(scenario.device.connection)
        let devicePeer = device.peerAddress
        #expect(devicePeer == RelayScenario.relayAddress)
        scenario.setDirect(link)
        // The client probes the device directly (from its own address, new to the device if the
        // handshake went through the relay).
        client.probePath(to: TransferScenario.deviceAddress, now: scenario.network.now)
        scenario.network.run(until: scenario.network.now + .seconds(2))
        #expect(scenario.client.events.contains(.pathValidated(TransferScenario.deviceAddress)))
        #expect(device.peerAddress == devicePeer, "seed \(seed): a probe moved the device's peer")
        #expect(!scenario.device.events.contains { if case .pathChanged = $0 { true } else { false } })
    }

    /// A PATH_RESPONSE that is not authenticated (forged in clear) or that carries an unknown
    /// value does nothing.
    @Test func spoofedPathResponseDoesNothing() throws {
        let seed: UInt64 = 67
        let scenario = TransferScenario(seed: seed, streams: 1, bytesPerStream: 10 * 1024, link: Self.link(loss: 0))
        #expect(scenario.runTransfer(limit: .seconds(10)))
        let client = try #require(scenario.client.connection)
        let device = try #require(scenario.device.connection)
        let target = NetAddress(ipv4: (198, 51, 100, 77), port: 999)
        client.probePath(to: target, attempts: 2, now: scenario.network.now)
        var buffer = ByteBuffer()
        var sentToTarget: ByteBuffer?
        while let to = client.pollTransmit(now: scenario.network.now, into: &buffer) {
            if to == target { sentToTarget = buffer }
        }
        let probe = try #require(sentToTarget)
        #expect(probe.readableBytes < 100, "probe is \(probe.readableBytes) bytes")
        let rejectedBefore = client.stats.packetsRejected
        // Forged: a data packet header for the client's ID, a PATH_RESPONSE in clear, junk tag.
        var forged = ByteBuffer()
        DataPacketHeader(keyPhase: 0, destinationConnectionID: client.localConnectionID, packetNumber: 1_000_000)
            .write(into: &forged)
        FrameCodec.encode(.pathResponse(0x1234), into: &forged)
        forged.writeBytes([UInt8](repeating: 0, count: 16))
        client.receive(forged, from: target, now: scenario.network.now)
        #expect(client.stats.packetsRejected == rejectedBefore + 1)
        // Authenticated, from the probed address, but with a value never sent.
        device.pathResponsesPending.append((TransferScenario.clientAddress, 0xDEAD_BEEF))
        scenario.network.run(until: scenario.network.now + .seconds(3))
        #expect(!scenario.client.events.contains(.pathValidated(target)))
        #expect(scenario.client.events.contains(.pathProbeFailed(target)))
        #expect(client.peerAddress == TransferScenario.deviceAddress)
        #expect(client.state == .established)
    }

    /// 1000 one-shot probes to random addresses, one of which reaches the device: exactly that
    /// address validates, the rest fail, and the transfer running meanwhile is intact.
    @Test func thousandProbesOneReachable() throws {
        let seed: UInt64 = 68
        let link = Self.link(loss: 0)
        let scenario = RelayScenario(seed: seed, streams: 2, bytesPerStream: 400 * 1024, link: link)
        scenario.setDirect(link)
        scenario.network.run(until: scenario.network.now + .seconds(5)) { scenario.client.handshakeCompletedAt == nil }
        let client = try #require(scenario.client.connection)
        let random = SeededEntropy(seed: seed)
        var targets: Set<NetAddress> = []
        while targets.count < 999 {
            let port = UInt16(truncatingIfNeeded: random.nextUInt64() % 60000 + 1024)
            let address = NetAddress(ipv4: (203, 0, 113, 20), port: port)
            if address != TransferScenario.deviceAddress { targets.insert(address) }
        }
        let all = Array(targets) + [TransferScenario.deviceAddress]
        var generator = SplitMix64(seed: seed)
        for address in all.shuffled(using: &generator) {
            client.probePath(to: address, attempts: 1, now: scenario.network.now)
        }
        #expect(client.outstandingPathProbes == 1000)
        scenario.network.run(until: scenario.network.now + .seconds(3))
        let validated = scenario.client.events.compactMap { if case .pathValidated(let a) = $0 { a } else { nil } }
        let failed = scenario.client.events.compactMap { if case .pathProbeFailed(let a) = $0 { a } else { nil } }
        #expect(validated == [TransferScenario.deviceAddress], "seed \(seed): \(validated)")
        #expect(Set(failed) == targets, "seed \(seed): \(failed.count) failed")
        #expect(client.outstandingPathProbes == 0)
        #expect(scenario.transfer.runTransfer(limit: .seconds(60)))
        #expect(scenario.transfer.mismatchedStreams.isEmpty)
        // Unanswered probes are not data loss (T2uNetStat's loss rate).
        #expect(client.stats.lossRate < 0.05, "seed \(seed): loss rate \(client.stats.lossRate)")
    }
}
