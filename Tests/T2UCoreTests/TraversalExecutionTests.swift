// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import Testing

@testable import T2UCore

/// The execution both agents and the simulator run: what a plan and arriving punches turn into.
@Suite struct TraversalExecutionTests {
    static let peerPublic = NetAddress(ipv4: (203, 0, 113, 20), port: 40_000)
    static let stranger = NetAddress(ipv4: (198, 51, 100, 99), port: 40_000)
    static let random = NATBehavior.endpointDependent(delta: 7_919)

    static func execution(
        _ role: TraversalRole, local: NATBehavior, peer: NATBehavior, scoped: Bool = true
    ) -> TraversalExecution {
        let planner = TraversalPlannerTests.plan(role, local: local, peer: peer)
        let scope = scoped ? PunchScope(observed: peerPublic, subnets: []) : nil
        return TraversalExecution(planner: planner, scope: scope, entropy: SeededEntropy(seed: 9))
    }

    /// Every step until the plan is empty (bounded).
    static func drain(
        _ execution: inout TraversalExecution, opening sockets: [Int]? = nil
    ) -> [TraversalExecution.Step] {
        var out: [TraversalExecution.Step] = []
        for _ in 0..<100_000 {
            guard let next = execution.nextDeadline() else { break }
            while let step = execution.poll(now: next) {
                if case .openSockets(let count) = step, let sockets {
                    #expect(sockets.count == count)
                    #expect(execution.socketsOpened(sockets).isEmpty)
                }
                out.append(step)
            }
        }
        return out
    }

    static func isPunch(_ datagram: ByteBuffer, session: UInt64) -> Bool {
        let parsed = TraversalPunch.parse(datagram)
        return parsed.isPunch && parsed.sessionID == session && datagram.readableBytes == TraversalPunch.length
    }

    @Test func planPunchesGoOutFromTheAgentSocketsTheyMapTo() {
        var device = Self.execution(.device, local: Self.random, peer: .endpointIndependent)
        let sockets = Array(100..<(100 + TraversalConfig().birthdaySockets))
        let steps = Self.drain(&device, opening: sockets)
        #expect(steps.filter { if case .openSockets = $0 { true } else { false } }.count == 1)
        var used: Set<Int> = []
        for case .send(let datagram, let address, let socket) in steps {
            #expect(Self.isPunch(datagram, session: 42))
            if socket != 0 {
                #expect(address == Self.peerPublic)
                used.insert(socket)
            }
        }
        #expect(used == Set(sockets))
        #expect(!steps.contains { if case .probe = $0 { true } else { false } }, "the device never probes")
        #expect(device.tried.contains(Self.peerPublic))
    }

    /// Auxiliary punches due before the agent reported its sockets are skipped, not sent from
    /// a socket that does not exist.
    @Test func auxiliaryPunchesWaitForTheSockets() {
        var device = Self.execution(.device, local: Self.random, peer: .endpointIndependent)
        let steps = Self.drain(&device)
        #expect(steps.contains(.openSockets(TraversalConfig().birthdaySockets)))
        for case .send(_, _, let socket) in steps { #expect(socket == 0) }
    }

    @Test func clientProbesThroughTheRouteTableAndCountsWhatItTried() {
        var client = Self.execution(.client, local: .endpointIndependent, peer: .endpointIndependent)
        let steps = Self.drain(&client)
        let probed = steps.compactMap { step -> NetAddress? in
            if case .probe(let address, _, let through) = step, through == nil { return address } else { return nil }
        }
        #expect(probed.contains(TraversalPlannerTests.lan))
        #expect(probed.contains(TraversalPlannerTests.reflexive))
        #expect(client.tried.isSuperset(of: probed))
    }

    /// A punch makes the client probe back through the socket it reached, at most every
    /// `punchProbeInterval` per address; the strategy remembered for that path is birthday when
    /// it came in on an auxiliary socket.
    @Test func aPunchMakesTheClientProbeBackRateLimited() {
        var client = Self.execution(.client, local: Self.random, peer: .endpointIndependent)
        let from = NetAddress(ipv4: (203, 0, 113, 20), port: 50_123)
        let now = Instant.zero + .seconds(1)
        #expect(
            client.punchArrived(from: from, socket: 7, now: now)
                == .probe(from, attempts: TraversalExecution.punchProbeAttempts, through: 7))
        #expect(client.punchArrived(from: from, socket: 7, now: now + .milliseconds(100)) == nil)
        #expect(
            client.punchArrived(from: from, socket: 7, now: now + TraversalExecution.punchProbeInterval) != nil)
        #expect(client.strategy(for: from) == .birthday)
    }

    /// Punches from outside the scope, or with no scope at all, buy nothing (a spoofed punch
    /// must not aim probes or punches at a victim).
    @Test(arguments: [TraversalRole.client, .device])
    func punchesFromOutsideTheScopeAreIgnored(role: TraversalRole) {
        var scoped = Self.execution(role, local: .endpointIndependent, peer: .endpointIndependent)
        #expect(scoped.punchArrived(from: Self.stranger, socket: 0, now: .zero) == nil)
        var unscoped = Self.execution(role, local: .endpointIndependent, peer: .endpointIndependent, scoped: false)
        #expect(unscoped.punchArrived(from: Self.peerPublic, socket: 0, now: .zero) == nil)
    }

    /// The device answers a punch once per address, from the socket it reached, and at most
    /// `maxAnswers` per session.
    @Test func theDeviceAnswersEachPunchOnceUpToTheBound() {
        var device = Self.execution(.device, local: Self.random, peer: .endpointIndependent)
        let first = NetAddress(ipv4: (203, 0, 113, 20), port: 1_000)
        guard
            case .send(let datagram, let address, let socket) = device.punchArrived(from: first, socket: 3, now: .zero)
        else {
            Issue.record("no answer")
            return
        }
        #expect(Self.isPunch(datagram, session: 42) && address == first && socket == 3)
        #expect(device.punchArrived(from: first, socket: 3, now: .zero) == nil)
        var answers = 1
        for port in 1_001..<1_100 {
            let from = NetAddress(ipv4: (203, 0, 113, 20), port: UInt16(port))
            if device.punchArrived(from: from, socket: 0, now: .zero) != nil { answers += 1 }
        }
        #expect(answers == TraversalExecution.maxAnswers)
    }

    /// Stopping returns the sockets to close (all but those kept) and silences everything;
    /// sockets that open after the stop are handed back at once.
    @Test func stopReleasesSocketsAndSilences() {
        var device = Self.execution(.device, local: Self.random, peer: .endpointIndependent)
        let count = TraversalConfig().birthdaySockets
        while let step = device.poll(now: .zero + .seconds(1)), step != .openSockets(count) {}
        let sockets = Array(1...count)
        #expect(device.socketsOpened(sockets).isEmpty)
        #expect(Set(device.stop(keeping: [2])) == Set(sockets).subtracting([2]))
        #expect(device.auxiliary == [2])
        #expect(device.nextDeadline() == nil && device.poll(now: .zero + .seconds(5)) == nil)
        #expect(device.punchArrived(from: Self.peerPublic, socket: 0, now: .zero) == nil)
        #expect(device.release(keeping: []) == [2])

        var late = Self.execution(.device, local: Self.random, peer: .endpointIndependent)
        while let step = late.poll(now: .zero + .seconds(1)), step != .openSockets(count) {}
        _ = late.stop()
        #expect(late.socketsOpened([5, 6]) == [5, 6])
    }
}
