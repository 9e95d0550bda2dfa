// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import T2UCore
import T2USim
import Testing

/// The planner on both sides across two simulated NATs, for every pair of NAT kinds.
@Suite struct TraversalSimTests {
    typealias Kind = TraversalWorld.NATKind

    /// Both endpoint-dependent with one random: no direct path exists for these NATs (checked,
    /// not assumed: the world must find none).
    static func expectsDirect(_ client: Kind, _ device: Kind) -> Bool {
        let dependent: Set<Kind> = [.symmetricRandom, .symmetricSequential]
        return
            !(dependent.contains(client) && dependent.contains(device)
            && (client == .symmetricRandom || device == .symmetricRandom))
    }

    static let pairs: [(Kind, Kind)] = Kind.allCases.flatMap { c in Kind.allCases.map { (c, $0) } }

    @Test(arguments: pairs.indices)
    func everyPairOfNATs(index: Int) {
        let (clientKind, deviceKind) = Self.pairs[index]
        for seed in [UInt64(0x7A11), 0x7A12] {
            let world = TraversalWorld(client: clientKind, device: deviceKind, seed: seed &+ UInt64(index))
            let found = world.discover()
            let label =
                "client \(clientKind) x device \(deviceKind), seed \(world.seed), "
                + "NATs \(world.client.behavior) / \(world.device.behavior), strategies \(world.client.planner!.strategies)"
            if Self.expectsDirect(clientKind, deviceKind) {
                #expect(found != nil, "no direct path: \(label)")
                guard let found else { continue }
                let via = world.client.planner!.strategy(for: found).map { "\($0)" } ?? "punch from the device"
                print(
                    "traversal \(clientKind) x \(deviceKind): \(found) at \(world.now) via \(via), socket \(world.validatedSocket[found] ?? -1)"
                )
                #expect(world.connection?.peerAddress == found, "the selection did not move the link: \(label)")
                let result = world.transfer(over: found, size: 48 * 1024)
                #expect(result.onPath, "the session did not move onto \(found): \(label)")
                #expect(
                    result.received == result.sent, "\(result.received.count) of \(result.sent.count) bytes: \(label)")
            } else {
                #expect(found == nil, "unexpected direct path \(String(describing: found)): \(label)")
                #expect(world.client.planner!.strategies.contains(.relayOnly), "\(label)")
            }
        }
    }

    /// Client and device on one LAN behind one NAT: the device's LAN candidate answers, even
    /// for a NAT that allows nothing else.
    @Test(arguments: [Kind.cone, .symmetricRandom])
    func sharedLANGoesDirectOverTheLANCandidate(kind: Kind) {
        let world = TraversalWorld(client: kind, device: kind, seed: 0x1A4, sharedLAN: true)
        let found = world.discover()
        #expect(found == world.device.main, "\(kind): \(String(describing: found))")
        guard let found else { return }
        #expect(world.client.planner!.strategy(for: found) == .candidates)
        let result = world.transfer(over: found, size: 32 * 1024)
        #expect(result.onPath)
        #expect(result.received == result.sent)
    }

    /// The default sizes (K=256, N=2048): every seeded run finds the path; prints when.
    @Test(arguments: [(Kind.cone, Kind.symmetricRandom), (Kind.symmetricRandom, Kind.cone)])
    func birthdayAtDefaultSizes(pair: (Kind, Kind)) {
        var times: [Double] = []
        var probes = 0
        for run in 0..<10 {
            let world = TraversalWorld(client: pair.0, device: pair.1, seed: 0xF011 &+ UInt64(run))
            let found = world.discover()
            #expect(found != nil, "\(pair.0) x \(pair.1), seed \(world.seed)")
            times.append(world.now.nanoseconds == 0 ? 0 : Double(world.now.nanoseconds) / 1e6)
            probes += world.probesSent
        }
        print(
            "birthday \(pair.0) x \(pair.1), K=256 N=2048: 10/10 found, ms: \(times.map { Int($0) }), client probes/run \(probes / 10)"
        )
    }

    @Test func natBehaviourIsClassifiedFromTheTwoServerPorts() {
        let expected: [Kind: (NATBehavior) -> Bool] = [
            .none: { $0 == .none },
            .fullcone: { $0 == .endpointIndependent },
            .cone: { $0 == .endpointIndependent },
            .symmetricRandom: { $0.isRandomDependent },
            .symmetricSequential: { $0 == .endpointDependent(delta: 1) },
        ]
        for kind in Kind.allCases {
            let world = TraversalWorld(client: kind, device: kind, seed: 0xC1A5)
            #expect(expected[kind]!(world.client.behavior), "\(kind): \(world.client.behavior)")
        }
    }

    /// Birthday figures: cone client x random device and the reverse, K sockets, N probes,
    /// over many seeds; the measured hit rate must be near 1 - (1 - K/64512)^N.
    @Test(arguments: [(Kind.cone, Kind.symmetricRandom), (Kind.symmetricRandom, Kind.cone)])
    func birthdayHitRate(pair: (Kind, Kind)) {
        var config = TraversalConfig()
        config.birthdaySockets = 64
        config.sprayCount = 512
        let expected = TraversalConfig.birthdayHitProbability(sockets: 64, probes: 512)
        let full = TraversalConfig.birthdayHitProbability(sockets: 256, probes: 2048)
        let runs = 40
        var hits = 0
        var datagrams = 0
        for run in 0..<runs {
            let world = TraversalWorld(client: pair.0, device: pair.1, seed: 0xB1D0 &+ UInt64(run), config: config)
            if let found = world.discover(), world.validatedSocket[found] != nil { hits += 1 }
            datagrams += world.datagramsSent
        }
        let rate = Double(hits) / Double(runs)
        print(
            "birthday \(pair.0) x \(pair.1): K=64 N=512 -> \(hits)/\(runs) = \(rate) (model \(expected)); "
                + "K=256 N=2048 model \(full); \(datagrams / runs) datagrams per run")
        // 40 runs at p ~ 0.40: three standard deviations is ~0.23.
        #expect(abs(rate - expected) < 0.25, "rate \(rate) vs model \(expected)")
        #expect(full > 0.999)
    }
}
