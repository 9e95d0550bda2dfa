// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import T2UCore
import Testing

@testable import T2UClient

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// "Why is this link relayed?" in words, from the client's facts.
@Suite struct RelayReasonTests {
    static func facts(
        local: NATBehavior = .endpointIndependent, peer: NATBehavior = .endpointIndependent, candidates: Int = 2,
        directDisabled: Bool = false, remembered: Bool = false,
        discovery: RelayFacts.Discovery = .ended(tried: 4)
    ) -> RelayFacts {
        RelayFacts(
            directDisabled: directDisabled, localNAT: local, peerNAT: peer, peerCandidates: candidates,
            rememberedRelay: remembered, discovery: discovery)
    }

    @Test func eachFactHasItsWords() {
        #expect(Self.facts(directDisabled: true).reason == "direct disabled by option (relay only)")
        #expect(Self.facts(candidates: 0).reason == "peer has no candidates (the server gave no address of the device)")
        #expect(
            Self.facts(local: .endpointDependent(delta: 3000), peer: .endpointDependent(delta: -977)).reason
                == "both sides symmetric NAT (ours random, the device's random) and no port mapping: no direct path beyond the LAN"
        )
        #expect(Self.facts(remembered: true).reason.hasPrefix("direct failed with this device a few minutes ago"))
        #expect(Self.facts(discovery: .notStarted).reason == "direct path search not started yet")
        #expect(
            Self.facts(discovery: .running(tried: 1)).reason == "searching a direct path (1 candidate tried so far)")
        #expect(
            Self.facts(local: .endpointDependent(delta: 1), discovery: .ended(tried: 6)).reason
                == "punching timed out after 6 candidates (ours sequential(1), the device's endpoint-independent): UDP between the peers is blocked or filtered"
        )
    }

    @Test func refusedSendsComeRightAfterTheOption() {
        var f = Self.facts(local: .endpointDependent(delta: 3000), peer: .endpointDependent(delta: 500))
        f.allTriedRefused = "EPERM"
        #expect(
            f.reason.hasPrefix("UDP to peer blocked: this host refused every send to the device's addresses (EPERM"))
        f.directDisabled = true
        #expect(f.reason == "direct disabled by option (relay only)")
    }

    @Test func optionWinsOverNATs() {
        // The option is the reason even where the NATs would also rule direct out.
        let f = Self.facts(
            local: .endpointDependent(delta: 3000), peer: .endpointDependent(delta: 500), directDisabled: true)
        #expect(f.reason == "direct disabled by option (relay only)")
        // Random x sequential: the planner rules direct out too (birthday needs a cone side).
        #expect(
            Self.facts(local: .endpointDependent(delta: 2), peer: .endpointDependent(delta: 900)).reason.hasPrefix(
                "both sides symmetric NAT"))
        // Sequential x sequential: prediction may work, so the reason is the punching outcome.
        #expect(
            Self.facts(local: .endpointDependent(delta: 2), peer: .endpointDependent(delta: 1)).reason.hasPrefix(
                "punching timed out after 4 candidates"))
    }
}

/// End to end on loopback: a client whose kernel refuses every send but those to the server (a
/// local firewall, injected) is relayed, and says why.
@Suite(.serialized) struct RelayReasonLoopbackTests {
    @Test func refusedSendsToThePeerAreNamed() async throws {
        let world = try await EchoWorld.make(uuid: "cam-blk")
        var options = clientOptions(world.server)
        let server = world.server.address
        options.sendFaultInjector = { destination in destination == server ? nil : EPERM }
        let client = try await T2UClient(options: options)
        try await waitUntil("registered") { await client.status() == .connected }
        let port = try await client.addPort(PortMappingRequest(uuid: "cam-blk", remotePort: world.echo.port))
        try await waitUntil("connected") { await client.portStatus(port).0 == .connected }
        var reason: String?
        try await waitUntil("reason", seconds: 10) {
            let path = await client.portStatus(port).1
            reason = path?.relayReason
            return path?.relayed == true && reason?.hasPrefix("UDP to peer blocked") == true
        }
        #expect(
            reason
                == "UDP to peer blocked: this host refused every send to the device's addresses (EPERM: a local firewall or no route)"
        )
        await client.shutdown()
        await world.stop()
    }
}
