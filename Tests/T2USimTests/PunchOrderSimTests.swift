// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import T2UCore
import T2USim
import Testing

/// Routers whose conntrack clashes (`SimulatedNAT.clashes`, `PunchOrder`): cone x cone with one
/// such router goes direct exactly when its side sends first, and the order the server picks
/// for the next sessions of a relayed pair (client first, then device first) includes that one.
@Suite struct PunchOrderSimTests {
    typealias Kind = TraversalWorld.NATKind

    static func direct(
        _ client: Kind, _ device: Kind, clashing: Set<TraversalRole>, order: PunchOrder,
        seed: UInt64 = 0xC1A5
    ) -> (found: NetAddress?, world: TraversalWorld) {
        let world = TraversalWorld(client: client, device: device, seed: seed, clashing: clashing, order: order)
        return (world.discover(), world)
    }

    @Test(arguments: [TraversalRole.client, .device])
    func oneClashingRouterGoesDirectWhenItsSideSendsFirst(clashing: TraversalRole) throws {
        let first: PunchOrder = clashing == .client ? .clientFirst : .deviceFirst
        let other: PunchOrder = clashing == .client ? .deviceFirst : .clientFirst
        let (found, world) = Self.direct(.cone, .cone, clashing: [clashing], order: first)
        let path = try #require(found, "\(clashing)'s router clashes, \(first): no direct path")
        #expect(path.port == world.device.reflexive?.port)
        let moved = clashing == .client ? world.client.nat : world.device.nat
        #expect(moved.clashed == 0)
        let result = world.transfer(over: path, size: 32 * 1024)
        #expect(result.onPath)
        #expect(result.received == result.sent)

        // The other side first: its datagram reaches the clashing router before its host sent,
        // the host's own then leave from another port, and the other router's filter drops them.
        let (lost, failed) = Self.direct(.cone, .cone, clashing: [clashing], order: other)
        #expect(lost == nil, "\(clashing)'s router clashes, \(other): \(String(describing: lost))")
        #expect((clashing == .client ? failed.client.nat : failed.device.nat).clashed > 0)
    }

    /// Some order of the server's sequence (together, client first, device first) reaches every
    /// single clash within its first three sessions; routers that do not clash go direct in
    /// every order, for the NAT pairs that go direct at all.
    @Test func theSequenceCoversEitherClashAndCostsNothingWithoutOne() {
        let sequence = (0..<3).map(PunchOrder.forAttempt)
        for clashing in [TraversalRole.client, .device] {
            let wins = sequence.filter { Self.direct(.cone, .cone, clashing: [clashing], order: $0).found != nil }
            #expect(!wins.isEmpty, "\(clashing) clashes: no order of \(sequence) goes direct")
        }
        let pairs: [(Kind, Kind)] = [(.cone, .cone), (.fullcone, .cone), (.cone, .symmetricSequential), (.none, .cone)]
        for (client, device) in pairs {
            for order in sequence {
                #expect(
                    Self.direct(client, device, clashing: [], order: order).found != nil,
                    "\(client) x \(device), \(order)")
            }
        }
    }

    /// Both routers clashing: whoever sends first leaves an entry at the other router before
    /// its host sends, so no order goes direct (only datagrams crossing between the routers
    /// could); the link stays on the relay, as the lab's both-clash cells show.
    @Test func bothRoutersClashingStayRelayedInEveryOrder() {
        for order in (0..<3).map(PunchOrder.forAttempt) {
            #expect(Self.direct(.cone, .cone, clashing: [.client, .device], order: order).found == nil, "\(order)")
        }
    }

    @Test func aClashMovesOnlyTheTupleItHit() {
        let nat = SimulatedNAT(
            publicHost: NetAddress(ipv4: (203, 0, 113, 20), port: 0).host, mapping: .endpointIndependent,
            filtering: .addressPortDependent, entropy: SeededEntropy(seed: 3), clashes: true)
        let inside = NetAddress(ipv4: (100, 64, 2, 2), port: 5000)
        let peer = NetAddress(ipv4: (203, 0, 113, 10), port: 4000)
        let server = NetAddress(ipv4: (198, 51, 100, 1), port: 3478)
        let mapped = nat.outbound(from: inside, to: server)
        // The peer's datagram first: kept by the router, not the host's.
        #expect(nat.inbound(to: mapped, from: peer) == nil)
        let moved = nat.outbound(from: inside, to: peer)
        #expect(moved.port != mapped.port && nat.clashed == 1)
        #expect(nat.outbound(from: inside, to: peer) == moved)  // kept for that peer
        #expect(nat.outbound(from: inside, to: server) == mapped)  // the rest keep the mapping
        #expect(nat.inbound(to: mapped, from: peer) == nil)  // the router's entry catches the peer
        #expect(nat.inbound(to: moved, from: peer) == inside)
        // Another peer's tuple was never taken: the mapping as usual.
        let other = NetAddress(ipv4: (203, 0, 113, 11), port: 4000)
        #expect(nat.outbound(from: inside, to: other) == mapped)
        #expect(nat.inbound(to: mapped, from: other) == inside)
    }
}
