// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import T2UCore
import T2USim
import Testing

/// The NAT model's mapping and filtering rules, which the traversal sim tests rely on.
@Suite struct SimulatedNATTests {
    static let inside = NetAddress(ipv4: (100, 64, 1, 2), port: 5000)
    static let server = NetAddress(ipv4: (198, 51, 100, 1), port: 3478)
    static let peer = NetAddress(ipv4: (203, 0, 113, 20), port: 40_000)
    static let other = NetAddress(ipv4: (203, 0, 113, 20), port: 40_001)
    static let publicHost = NetAddress(ipv4: (203, 0, 113, 10), port: 0).host

    static func nat(
        _ mapping: SimulatedNAT.Mapping, _ filtering: SimulatedNAT.Filtering, seed: UInt64 = 1
    ) -> SimulatedNAT {
        SimulatedNAT(publicHost: publicHost, mapping: mapping, filtering: filtering, entropy: SeededEntropy(seed: seed))
    }

    @Test func endpointIndependentMappingPreservesThePortForEveryDestination() {
        let nat = Self.nat(.endpointIndependent, .addressPortDependent)
        let a = nat.outbound(from: Self.inside, to: Self.server)
        #expect(a == NetAddress(host: Self.publicHost, port: 5000))
        #expect(nat.outbound(from: Self.inside, to: Self.peer) == a)
        #expect(nat.mappingsCreated == 1)
    }

    @Test func addressPortDependentFilteringDropsUnsolicitedInbound() {
        let nat = Self.nat(.endpointIndependent, .addressPortDependent)
        let mapped = nat.outbound(from: Self.inside, to: Self.server)
        #expect(nat.inbound(to: mapped, from: Self.server) == Self.inside)
        #expect(nat.inbound(to: mapped, from: Self.peer) == nil)
        #expect(nat.droppedUnsolicited == 1)
        _ = nat.outbound(from: Self.inside, to: Self.peer)
        #expect(nat.inbound(to: mapped, from: Self.peer) == Self.inside)
        #expect(nat.inbound(to: mapped, from: Self.other) == nil)
        // No mapping at all on that port.
        #expect(nat.inbound(to: NetAddress(host: Self.publicHost, port: 9), from: Self.server) == nil)
    }

    @Test func fullConeLetsAnyoneInThroughAMapping() {
        let nat = Self.nat(.endpointIndependent, .endpointIndependent)
        let mapped = nat.outbound(from: Self.inside, to: Self.server)
        #expect(nat.inbound(to: mapped, from: Self.peer) == Self.inside)
    }

    @Test(arguments: [UInt64(3), 4])
    func dependentRandomMapsEachDestinationToANewRandomPort(seed: UInt64) {
        let nat = Self.nat(.dependentRandom, .addressPortDependent, seed: seed)
        let a = nat.outbound(from: Self.inside, to: Self.server)
        let b = nat.outbound(from: Self.inside, to: Self.peer)
        #expect(a != b, "seed \(seed)")
        #expect(nat.outbound(from: Self.inside, to: Self.server) == a)
        #expect(a.port >= 1024 && b.port >= 1024)
        // Each mapping only answers its own destination.
        #expect(nat.inbound(to: a, from: Self.peer) == nil)
        #expect(nat.inbound(to: b, from: Self.peer) == Self.inside)
    }

    @Test func dependentSequentialStepsByDelta() {
        let nat = SimulatedNAT(
            publicHost: Self.publicHost, mapping: .dependentSequential(delta: 2), filtering: .addressPortDependent,
            entropy: SeededEntropy(seed: 1), firstSequentialPort: 30_000)
        let ports = [Self.server, Self.peer, Self.other].map { nat.outbound(from: Self.inside, to: $0).port }
        #expect(ports == [30_000, 30_002, 30_004])
    }

    @Test func noNATOnlyRoutes() {
        let nat = Self.nat(.none, .endpointIndependent)
        #expect(nat.outbound(from: Self.inside, to: Self.server) == Self.inside)
        #expect(nat.inbound(to: Self.inside, from: Self.peer) == Self.inside)
    }
}
