// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Testing

@testable import T2UCore

@Suite struct TraversalPlannerTests {
    static let lan = NetAddress(ipv4: (192, 0, 2, 10), port: 5000)
    static let reflexive = NetAddress(ipv4: (203, 0, 113, 20), port: 40_000)
    static let random = NATBehavior.endpointDependent(delta: 7_919)

    static func plan(
        _ role: TraversalRole, local: NATBehavior, peer: NATBehavior, seed: UInt64 = 1,
        config: TraversalConfig = .init(), remembered: TraversalStrategy? = nil
    ) -> TraversalPlanner {
        TraversalPlanner(
            role: role, localNAT: local, peer: TraversalPeer(nat: peer, reflexive: reflexive, candidates: [lan]),
            sessionID: 42, entropy: SeededEntropy(seed: seed), now: .zero, config: config, remembered: remembered)
    }

    /// Every action with its time, until the plan is empty (bounded).
    static func drain(
        _ planner: inout TraversalPlanner, until end: Instant = .zero + .seconds(30)
    ) -> [(Instant, TraversalAction)] {
        var out: [(Instant, TraversalAction)] = []
        for _ in 0..<100_000 {
            guard let next = planner.nextDeadline(), next <= end else { break }
            while let action = planner.poll(now: next) { out.append((next, action)) }
        }
        return out
    }

    @Test func strategiesFollowTheTwoNATs() {
        let seq = NATBehavior.endpointDependent(delta: 1)
        #expect(TraversalPlanner.strategies(local: .endpointIndependent, peer: .endpointIndependent) == [.candidates])
        #expect(TraversalPlanner.strategies(local: .none, peer: Self.random) == [.candidates])
        #expect(
            TraversalPlanner.strategies(local: .endpointIndependent, peer: Self.random) == [.candidates, .birthday])
        #expect(
            TraversalPlanner.strategies(local: Self.random, peer: .endpointIndependent) == [.candidates, .birthday])
        #expect(TraversalPlanner.strategies(local: .endpointIndependent, peer: seq) == [.candidates, .prediction])
        #expect(TraversalPlanner.strategies(local: seq, peer: seq) == [.candidates, .prediction])
        #expect(TraversalPlanner.strategies(local: Self.random, peer: Self.random) == [.candidates, .relayOnly])
        #expect(TraversalPlanner.strategies(local: seq, peer: Self.random) == [.candidates, .relayOnly])
        #expect(TraversalPlanner.strategies(local: .unknown, peer: Self.random) == [.candidates])
    }

    @Test func candidatesComeFirstLANBeforeReflexive() {
        var client = Self.plan(.client, local: .endpointIndependent, peer: .endpointIndependent)
        let actions = Self.drain(&client)
        #expect(actions.prefix(2).map(\.1) == [.probe(Self.lan, attempts: 3), .probe(Self.reflexive, attempts: 3)])
        #expect(actions.allSatisfy { if case .probe = $0.1 { true } else { false } })
        var device = Self.plan(.device, local: .endpointIndependent, peer: .endpointIndependent)
        let punches = Self.drain(&device)
        #expect(punches.prefix(2).map(\.1) == [.punch(Self.lan, socket: 0), .punch(Self.reflexive, socket: 0)])
        #expect(punches.count == 2 * TraversalConfig().punchRounds.count)
        #expect(device.strategy(for: Self.reflexive) == .candidates)
    }

    @Test func predictionTargetsTheNextPortsOfASequentialPeer() {
        var client = Self.plan(.client, local: .endpointIndependent, peer: .endpointDependent(delta: 2))
        let predicted = Set(
            Self.drain(&client).compactMap { action -> UInt16? in
                guard case .probe(let address, _) = action.1, address != Self.reflexive, address != Self.lan else {
                    return nil
                }
                return address.port
            })
        #expect(predicted == Set((1...16).map { UInt16(40_000 + 2 * $0) }))
        #expect(client.strategy(for: NetAddress(ipv4: (203, 0, 113, 20), port: 40_002)) == .prediction)
    }

    /// Both sequential: our k-th new mapping goes to the peer's k-th port (main 0, observation
    /// 1, then one per new destination), so the two sides' mappings of one index meet.
    @Test func pairedPredictionMatchesAllocationIndices() {
        var device = Self.plan(.device, local: .endpointDependent(delta: 1), peer: .endpointDependent(delta: 3))
        var destinations: [NetAddress] = []
        for (_, action) in Self.drain(&device) {
            if case .punch(let address, socket: 0) = action, !destinations.contains(address) {
                destinations.append(address)
            }
        }
        #expect(destinations.prefix(2) == [Self.lan, Self.reflexive])
        for (offset, target) in destinations.dropFirst(2).enumerated() {
            let index = 2 + 2 + offset
            #expect(target.port == UInt16(40_000 + 3 * index), "destination \(offset): \(target)")
        }
    }

    @Test func birthdayDependentSideOpensSocketsAndPunchesTheReflexiveAddress() {
        var device = Self.plan(.device, local: Self.random, peer: .endpointIndependent)
        let actions = Self.drain(&device)
        let config = TraversalConfig()
        #expect(actions.contains { $0.1 == .openSockets(config.birthdaySockets) })
        let aux = actions.filter { if case .punch(_, let socket) = $0.1 { socket > 0 } else { false } }
        #expect(aux.count == config.birthdaySockets * config.auxiliaryPunchRounds.count)
        #expect(
            aux.allSatisfy {
                if case .punch(let a, let s) = $0.1 {
                    a == Self.reflexive && s <= config.birthdaySockets
                } else {
                    false
                }
            })
        #expect(Set(aux.map { socketOf($0.1) }).count == config.birthdaySockets)
        #expect(aux.first!.0 == Instant.zero + config.strategyDelay)
        #expect(device.auxiliarySockets == config.birthdaySockets)
    }

    @Test(arguments: [UInt64(11), 12])
    func birthdayIndependentSideSpraysDistinctRandomPortsPaced(seed: UInt64) {
        var client = Self.plan(.client, local: .endpointIndependent, peer: Self.random, seed: seed)
        let spray = Self.drain(&client).filter { if case .probe(_, attempts: 1) = $0.1 { true } else { false } }
        let config = TraversalConfig()
        #expect(spray.count == config.sprayCount, "seed \(seed)")
        let ports = spray.compactMap { if case .probe(let a, _) = $0.1 { a.port } else { nil } }
        #expect(Set(ports).count == ports.count, "seed \(seed): repeated ports")
        #expect(ports.allSatisfy { $0 >= 1024 }, "seed \(seed)")
        #expect(spray.allSatisfy { if case .probe(let a, _) = $0.1 { a.host == Self.reflexive.host } else { false } })
        // Paced: N at `sprayRate` per second.
        let span = spray.last!.0 - spray.first!.0
        #expect(
            span >= .milliseconds(Int64(1000 * (config.sprayCount - 1) / config.sprayRate)) - .milliseconds(1),
            "seed \(seed)")
        // Same seed, same plan.
        var replay = Self.plan(.client, local: .endpointIndependent, peer: Self.random, seed: seed)
        let replayed = Self.drain(&replay).filter { if case .probe(_, attempts: 1) = $0.1 { true } else { false } }
        #expect(replayed.map(\.1) == spray.map(\.1), "seed \(seed)")
        // The device with a random NAT sprays nothing (it opens sockets instead).
        var device = Self.plan(.device, local: Self.random, peer: .endpointIndependent)
        let mainTargets = Set(
            Self.drain(&device).compactMap { if case .punch(let a, socket: 0) = $0.1 { a } else { nil } })
        #expect(mainTargets == [Self.lan, Self.reflexive])
    }

    @Test func birthdayProbability() {
        let p = TraversalConfig.birthdayHitProbability(sockets: 256, probes: 2048)
        print("birthday: K=256 sockets, N=2048 probes over 64512 ports: P(hit) = \(p)")
        #expect(p > 0.9996 && p < 0.9998)
        #expect(abs(TraversalConfig.birthdayHitProbability(sockets: 1, probes: 1) - 1.0 / 64512) < 1e-12)
        #expect(TraversalConfig.birthdayHitProbability(sockets: 0, probes: 5000) == 0)
    }

    @Test func memoryShapesThePlan() {
        // Remembered relay only: candidates, no spray.
        var relay = Self.plan(.client, local: .endpointIndependent, peer: Self.random, remembered: .relayOnly)
        #expect(
            Self.drain(&relay).allSatisfy { if case .probe(_, let attempts) = $0.1 { attempts > 1 } else { false } })
        // Remembered birthday: the spray starts at once.
        var birthday = Self.plan(.client, local: .endpointIndependent, peer: Self.random, remembered: .birthday)
        let first = Self.drain(&birthday).first { if case .probe(_, attempts: 1) = $0.1 { true } else { false } }
        #expect(first?.0 == .zero)

        var memory = TraversalMemory()
        memory.remember(.relayOnly, for: "CAM", now: .zero)
        memory.remember(.birthday, for: "DOOR", now: .zero)
        #expect(memory.recall("CAM", now: .zero + .seconds(10)) == .relayOnly)
        #expect(memory.recall("CAM", now: .zero + memory.relayRetryAfter) == nil)
        #expect(memory.recall("DOOR", now: .zero + .seconds(3600)) == .birthday)
        #expect(memory.recall("OTHER", now: .zero) == nil)
        memory.forgetRelayOnly(for: "CAM")
        memory.forgetRelayOnly(for: "DOOR")
        #expect(memory.recall("CAM", now: .zero + .seconds(10)) == nil, "a relay verdict is dropped")
        #expect(memory.recall("DOOR", now: .zero) == .birthday, "what worked stays")
    }

    @Test func stopAndWindowEndThePlan() {
        var client = Self.plan(.client, local: .endpointIndependent, peer: Self.random)
        #expect(client.poll(now: .zero) != nil)
        client.stop()
        #expect(client.poll(now: .zero + .seconds(1)) == nil)
        #expect(client.nextDeadline() == nil)
        var config = TraversalConfig()
        config.window = .milliseconds(500)
        var short = Self.plan(.client, local: .endpointIndependent, peer: Self.random, config: config)
        let actions = Self.drain(&short)
        #expect(actions.allSatisfy { $0.0 <= .zero + .milliseconds(500) })
        #expect(short.windowEnded(now: .zero + .milliseconds(500)))
    }
}

private func socketOf(_ action: TraversalAction) -> Int {
    if case .punch(_, let socket) = action { return socket }
    return -1
}

@Suite struct TraversalPlannerDropTests {
    @Test func droppingNATStrategiesKeepsTheCandidateRounds() {
        var client = TraversalPlannerTests.plan(
            .client, local: .endpointIndependent, peer: TraversalPlannerTests.random)
        #expect(client.poll(now: .zero) == .probe(TraversalPlannerTests.lan, attempts: 3))
        client.dropNATStrategies()
        let rest = TraversalPlannerTests.drain(&client)
        #expect(!rest.isEmpty)
        #expect(
            rest.allSatisfy {
                if case .probe(let a, 3) = $0.1 {
                    a == TraversalPlannerTests.lan || a == TraversalPlannerTests.reflexive
                } else {
                    false
                }
            })
    }
}
