// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import T2USim
import Testing

@testable import T2UCore

/// The caller's path options are contracts the connection enforces itself: with every path
/// open, device punches (the client's reactions to them: a handshake copy while handshaking, a
/// probe and migration once established) and device-driven moves at every stage never put a
/// single datagram on an excluded path, and the transfer still completes byte-exact.
@Suite struct PathPolicySimTests {
    enum Stage: String, CaseIterable, CustomTestStringConvertible {
        /// Before any initiation went out; while the relayed handshake is in flight; right
        /// after it completed; in the middle of the transfer.
        case beforeHandshake, duringHandshake, afterHandshake, midTransfer
        var testDescription: String { rawValue }
    }

    enum Option: String, CaseIterable, CustomTestStringConvertible {
        case relayOnly, relayFirst, directOnly, any
        var testDescription: String { rawValue }
        var policy: PathPolicy {
            let relay = RelayScenario.relayAddress
            switch self {
            case .relayOnly: return .relayOnly(relay: relay)
            case .relayFirst: return .relayFirst(relay: relay)
            case .directOnly: return .directOnly(relay: relay)
            case .any: return .any
            }
        }
    }

    static let client = TransferScenario.clientAddress
    static let device = TransferScenario.deviceAddress
    static let relay = RelayScenario.relayAddress

    static var link: LinkConditions {
        var link = LinkConditions()
        link.delay = .milliseconds(20)
        link.bandwidthBitsPerSecond = 20_000_000
        link.queueLimitBytes = 256 * 1024
        return link
    }

    /// What an agent does on a device punch: the client re-sends its initiation to the punch's
    /// source while handshaking, probes it and moves there once established; the device probes
    /// the client's direct address and moves there too (both ends try every path).
    static func punch(_ scenario: RelayScenario) {
        let now = scenario.network.now
        guard let client = scenario.client.connection else { return }
        switch client.state {
        case .handshaking:
            client.sendHandshake(alsoTo: device, now: now)
        case .established:
            client.probePath(to: device, now: now)
            scenario.device.connection?.probePath(to: Self.client, now: now)
        case .closing, .closed:
            break
        }
    }

    /// Moves each end to the direct path its probe validated (what the traversal does).
    static func migrateValidated(_ scenario: RelayScenario) {
        let now = scenario.network.now
        if scenario.client.events.contains(.pathValidated(device)) {
            scenario.client.connection?.migrate(to: device, now: now)
        }
        if scenario.device.events.contains(.pathValidated(client)) {
            scenario.device.connection?.migrate(to: client, now: now)
        }
    }

    @Test(arguments: Option.allCases, Stage.allCases)
    func excludedPathIsNeverUsed(option: Option, stage: Stage) throws {
        let seed = UInt64(700 + Option.allCases.firstIndex(of: option)! * 10 + Stage.allCases.firstIndex(of: stage)!)
        let scenario = RelayScenario(
            seed: seed, streams: 3, bytesPerStream: 300 * 1024, link: Self.link,
            clientPathPolicy: option.policy)
        scenario.setDirect(Self.link)
        let network = scenario.network
        var peersWhileEstablished: Set<NetAddress> = []
        scenario.client.observer = { connection, _ in peersWhileEstablished.insert(connection.peerAddress) }

        if stage == .beforeHandshake { Self.punch(scenario) }
        if stage == .duringHandshake {
            network.run(until: network.now + .milliseconds(15))
            Self.punch(scenario)
        }
        network.run(until: network.now + .seconds(5)) { scenario.client.handshakeCompletedAt == nil }
        let connection = try #require(scenario.client.connection)
        #expect(connection.state == .established, "\(option) \(stage): no handshake")
        let handshakePeer = connection.peerAddress
        if stage == .afterHandshake { Self.punch(scenario) }
        if stage == .midTransfer {
            network.run(until: network.now + .milliseconds(300))
            Self.punch(scenario)
        }
        network.run(until: network.now + .seconds(2))
        Self.migrateValidated(scenario)
        #expect(scenario.transfer.runTransfer(limit: .seconds(60)), "\(option) \(stage): transfer incomplete")
        #expect(scenario.transfer.mismatchedStreams.isEmpty, "\(option) \(stage)")
        #expect(scenario.client.closeReason == nil && scenario.device.closeReason == nil, "\(option) \(stage)")

        let toDevice = network.linkStats(from: Self.client, to: Self.device)
        let fromDevice = network.linkStats(from: Self.device, to: Self.client)
        let toRelay = network.linkStats(from: Self.client, to: Self.relay)
        switch option {
        case .relayOnly:
            #expect(toDevice.sent == 0, "\(option) \(stage): client sent direct: \(toDevice)")
            #expect(peersWhileEstablished == [Self.relay], "\(option) \(stage): \(peersWhileEstablished)")
            #expect(
                scenario.device.connection?.peerAddress == Self.relay, "\(option) \(stage): the device moved direct")
            if fromDevice.delivered > 0 { #expect(connection.stats.packetsOffPolicy > 0) }
        case .relayFirst:
            #expect(handshakePeer == Self.relay, "\(option) \(stage): handshake completed on \(handshakePeer)")
            if stage == .afterHandshake || stage == .midTransfer {
                #expect(connection.peerAddress == Self.device, "\(option) \(stage): never upgraded to direct")
            }
        case .directOnly:
            #expect(toRelay.sent == 0, "\(option) \(stage): client used the relay: \(toRelay)")
            #expect(!peersWhileEstablished.contains(Self.relay), "\(option) \(stage): \(peersWhileEstablished)")
        case .any:
            if stage == .afterHandshake || stage == .midTransfer || handshakePeer == Self.device {
                #expect(connection.peerAddress == Self.device, "\(option) \(stage): ended on \(connection.peerAddress)")
            }
        }
    }

    /// The contract in isolation: excluded addresses are refused by every entry point.
    @Test func entryPointsRefuseExcludedAddresses() throws {
        #expect(PathPolicy.relayOnly(relay: Self.relay).allows(Self.relay, established: true))
        #expect(!PathPolicy.relayOnly(relay: Self.relay).allows(Self.device, established: true))
        #expect(!PathPolicy.relayFirst(relay: Self.relay).allows(Self.device, established: false))
        #expect(PathPolicy.relayFirst(relay: Self.relay).allows(Self.device, established: true))
        #expect(!PathPolicy.directOnly(relay: Self.relay).allows(Self.relay, established: true))
        #expect(PathPolicy.any.allows(Self.relay, established: false))
    }
}
