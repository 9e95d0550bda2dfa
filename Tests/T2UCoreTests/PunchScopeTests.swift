// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Foundation
import NIOCore
import Testing

@testable import T2UCore

/// The device as a reflector (docs/SECURITY.md §4): what one INTRODUCE can make it send, and to
/// whom. The plan runs through `PunchScope` and `PunchBudget` exactly as `DeviceTraversal` does.
@Suite struct PunchScopeTests {
    static let observed = NetAddress(ipv4: (203, 0, 113, 7), port: 40_000)
    static let deviceLAN = LocalSubnet(host: NetAddress(ipv4: (192, 168, 1, 10), port: 0).host, prefixLength: 24)
    /// Eight addresses an attacker names (victims), none on the device's LAN nor the observed IP.
    static let foreign: [NetAddress] = (1...8).map {
        NetAddress(ipv4: (198, 51, 100, UInt8($0)), port: 9_000 + UInt16($0))
    }
    static let random = NATBehavior.endpointDependent(delta: 7_919)
    static let natKinds: [NATBehavior] = [.unknown, .none, .endpointIndependent, .endpointDependent(delta: 1), random]

    /// The attacker's CONNECT as the server receives it (8 candidates, 4-byte UUID): 88 bytes.
    static var connectBytes: Int {
        var buffer = ByteBuffer()
        SignalingMessage.connect(
            .init(
                requestID: 1, token: 2, uuid: "cam1", clientConnectionID: ConnectionID(rawValue: 3),
                candidates: foreign)
        ).write(into: &buffer)
        return buffer.readableBytes
    }

    static func introduce(
        candidates: [NetAddress], clientNAT: NATBehavior = .unknown, session: UInt64 = 9
    ) -> SignalingMessage.Introduce {
        .init(
            requestID: 1, sessionID: session, clientConnectionID: ConnectionID(rawValue: 3),
            clientPublicAddress: observed,
            clientCandidates: candidates, relayAllowed: true, clientNAT: clientNAT)
    }

    /// Bytes the device sends per destination for one introduction, starting at `start`.
    static func run(
        _ intro: SignalingMessage.Introduce, localNAT: NATBehavior, budget: inout PunchBudget,
        start: Instant = .zero, subnets: [LocalSubnet] = [deviceLAN]
    ) -> [NetAddress: Int] {
        var (planner, scope, _) = TraversalPlanner.device(
            introduction: intro, localNAT: localNAT, subnets: subnets,
            entropy: SeededEntropy(seed: 5), now: start)
        var sent: [NetAddress: Int] = [:]
        for _ in 0..<100_000 {
            guard let next = planner.nextDeadline() else { break }
            while let action = planner.poll(now: next) {
                guard case .punch(let address, _) = action, budget.admit(address, scope: scope, now: next) == .send
                else { continue }
                sent[address, default: 0] += TraversalPunch.length
            }
        }
        return sent
    }

    @Test func eightForeignCandidatesGetNothing() {
        #expect(Self.connectBytes == 88)
        var budget = PunchBudget(now: .zero)
        let sent = Self.run(Self.introduce(candidates: Self.foreign), localNAT: .unknown, budget: &budget)
        for victim in Self.foreign { #expect(sent[victim] == nil, "\(victim) got \(sent[victim] ?? 0) bytes") }
        #expect(Set(sent.keys) == [Self.observed])
        let toObserved = sent[Self.observed] ?? 0
        #expect(toObserved == TraversalConfig().punchRounds.count * TraversalPunch.length)  // 6 x 13 = 78
        let factor = Double(toObserved) / Double(Self.connectBytes)
        print(
            "reflection: CONNECT \(Self.connectBytes) B naming 8 foreign candidates -> \(toObserved) B to the observed client, 0 B to each candidate (factor \(String(format: "%.2f", factor)); before: 624 B to the candidates, 7.1x)"
        )
        #expect(factor <= 1)
        #expect(budget.counters.outOfScope == 0, "the planner itself left them out")
    }

    /// Every NAT pair the client could claim: nothing to an address off the observed IP; to the
    /// observed address itself at most (6 candidate rounds + 256 sockets x 5 rounds) punches.
    @Test func noPlanLeavesTheObservedIP() {
        let boundToObserved = (6 + 256 * 5) * TraversalPunch.length
        var rows: [String] = []
        for local in Self.natKinds {
            for claim in Self.natKinds {
                var budget = PunchBudget(now: .zero)
                let sent = Self.run(
                    Self.introduce(candidates: Self.foreign, clientNAT: claim), localNAT: local, budget: &budget)
                let offIP = sent.filter { $0.key.host != Self.observed.host }
                #expect(offIP.isEmpty, "device \(local), client \(claim): \(offIP)")
                #expect((sent[Self.observed] ?? 0) <= boundToObserved, "device \(local), client \(claim)")
                let total = sent.values.reduce(0, +)
                #expect(total <= TraversalConfig.defaultMaxPunches * TraversalPunch.length)
                let toObserved = sent[Self.observed] ?? 0
                let factor = String(format: "%.1f", Double(total) / Double(Self.connectBytes))
                rows.append(
                    "  device \(local) x client \(claim): \(toObserved) B to the observed address, \(total) B to its IP (\(factor)x)"
                )
            }
        }
        print("punch bytes per introduction, all toward the client's observed IP:\n" + rows.joined(separator: "\n"))
    }

    @Test func candidatesOnTheDeviceLANAreKeptOthersDropped() {
        let lanHost = NetAddress(ipv4: (192, 168, 1, 20), port: 5000)
        let broadcast = NetAddress(ipv4: (192, 168, 1, 255), port: 5000)
        let network = NetAddress(ipv4: (192, 168, 1, 0), port: 5000)
        let elsewhere = NetAddress(ipv4: (10, 0, 0, 5), port: 5000)
        let samePublicIP = NetAddress(host: Self.observed.host, port: 1234)
        let (_, _, dropped) = TraversalPlanner.device(
            introduction: Self.introduce(candidates: [lanHost, broadcast, network, elsewhere, samePublicIP]),
            localNAT: .unknown,
            subnets: [Self.deviceLAN], entropy: SeededEntropy(seed: 1), now: .zero)
        #expect(dropped == [broadcast, network, elsewhere])
        var budget = PunchBudget(now: .zero)
        let sent = Self.run(Self.introduce(candidates: [lanHost, elsewhere]), localNAT: .unknown, budget: &budget)
        #expect(Set(sent.keys) == [lanHost, Self.observed])
    }

    /// A CONNECT repeated every second for a minute toward one client IP: the device sends no
    /// more than one plan's budget per window plus the refill, not 60 plans.
    @Test func repeatedIntroductionsDoNotMultiplyTheBudget() {
        var budget = PunchBudget(now: .zero)
        var total = 0
        for second in 0..<60 {
            let sent = Self.run(
                Self.introduce(candidates: [], clientNAT: Self.random, session: UInt64(second)),
                localNAT: .endpointIndependent, budget: &budget, start: .zero + .seconds(Int64(second)))
            total += sent.values.reduce(0, +) / TraversalPunch.length
        }
        let onePlan = Double(TraversalConfig.defaultMaxPunches)
        let allowed = onePlan + onePlan / 10 * 62  // burst + refill (per-destination rate) over the run
        print(
            "60 introductions in 60 s toward one IP: \(total) punches (one plan: \(Int(onePlan)); without the budget: \(60 * 2054))"
        )
        #expect(Double(total) <= allowed)
        #expect(budget.counters.destinationExhausted > 0)
    }

    @Test func paceBoundsAllDestinations() {
        var config = PunchBudget.Config()
        config.paceRate = 100
        config.paceBurst = 10
        var budget = PunchBudget(config: config, now: .zero)
        let scope = PunchScope(observed: Self.observed, subnets: [])
        var sent = 0
        for i in 0..<1000 {  // 1000 punches in 1 s
            if budget.admit(
                NetAddress(host: Self.observed.host, port: UInt16(2000 + i)), scope: scope,
                now: .zero + .milliseconds(Int64(i))) == .send
            {
                sent += 1
            }
        }
        #expect(sent >= 100 && sent <= 111, "\(sent)")
        #expect(budget.admit(Self.foreign[0], scope: scope, now: .zero + .seconds(5)) == .outOfScope)
    }

    /// The rule both sides apply to a punch's source or destination.
    /// IPv6 has no NAT: the client's own global addresses are its public ones even when it
    /// registered over IPv4. At most two of them are punched, under the same plan and budget;
    /// ULA, link-local and anything beyond the two stay out, and a punch from another global
    /// IPv6 address buys nothing.
    @Test func globalIPv6CandidatesAreKeptUpToTwo() throws {
        let globals = try (1...3).map { try #require(NetAddress(ipv6: "2001:db8:a::\($0)", port: 4_000)) }
        let ula = try #require(NetAddress(ipv6: "fd00::5", port: 4_000))
        let linkLocal = try #require(NetAddress(ipv6: "fe80::5", port: 4_000))
        let scope = PunchScope(
            observed: Self.observed, subnets: [Self.deviceLAN], candidates: globals + [ula, linkLocal])
        #expect(scope.globalIPv6 == [globals[0].host, globals[1].host])
        #expect(scope.allows(globals[0]) && scope.allows(globals[1]))
        #expect(!scope.allows(globals[2]) && !scope.allows(ula) && !scope.allows(linkLocal))
        #expect(!scope.allows(try #require(NetAddress(ipv6: "2001:db8:ffff::1", port: 4_000))))

        var budget = PunchBudget(now: .zero)
        let candidates = globals + [ula, linkLocal]
        let sent = Self.run(Self.introduce(candidates: candidates), localNAT: .unknown, budget: &budget)
        #expect(sent[globals[0]] != nil && sent[globals[1]] != nil, "\(sent)")
        for outside in [globals[2], ula, linkLocal] {
            #expect(sent[outside] == nil, "\(outside) got \(sent[outside] ?? 0) bytes")
        }
        var connect = ByteBuffer()
        SignalingMessage.connect(
            .init(
                requestID: 1, token: 2, uuid: "cam1", clientConnectionID: ConnectionID(rawValue: 3),
                candidates: candidates)
        ).write(into: &connect)
        // A victim named as a candidate gets fewer bytes than the CONNECT that named it.
        for kept in globals.prefix(2) { #expect(sent[kept, default: 0] < connect.readableBytes) }
        print(
            "IPv6 candidates: CONNECT of \(connect.readableBytes) B naming 3 global + ULA + link-local -> \(sent[globals[0], default: 0]) B to each of the 2 kept global addresses, 0 B to the others"
        )
    }

    @Test func scopeIsTheObservedIPAndLANHostsOnly() {
        let scope = PunchScope(observed: Self.observed, subnets: [Self.deviceLAN])
        #expect(scope.allows(Self.observed))
        #expect(
            scope.allows(NetAddress(host: Self.observed.host, port: 1)),
            "another port of the observed IP (prediction, birthday)")
        #expect(scope.allows(NetAddress(ipv4: (192, 168, 1, 77), port: 9)))
        #expect(!scope.allows(NetAddress(ipv4: (192, 168, 1, 255), port: 9)), "the LAN's broadcast address")
        #expect(!scope.allows(NetAddress(ipv4: (203, 0, 113, 8), port: 40_000)), "the observed IP's neighbour")
        for victim in Self.foreign { #expect(!scope.allows(victim)) }
        #expect(!PunchScope(observed: Self.observed, subnets: []).allows(NetAddress(ipv4: (192, 168, 1, 77), port: 9)))
    }

    @Test func subnetsFromNetmasksAndTheirEdges() {
        let host = NetAddress(ipv4: (10, 1, 2, 3), port: 0).host
        #expect(LocalSubnet(host: host, netmask: NetAddress(ipv4: (255, 255, 255, 0), port: 0).host).prefixLength == 24)
        #expect(LocalSubnet(host: host, netmask: NetAddress(ipv4: (255, 0, 0, 0), port: 0).host).prefixLength == 8)
        // 0.0.0.0 or a /4: not "the whole internet is our LAN", only the host.
        #expect(LocalSubnet(host: host, netmask: NetAddress(ipv4: (0, 0, 0, 0), port: 0).host).prefixLength == 32)
        #expect(LocalSubnet(host: host, prefixLength: 4).prefixLength == 32)
        let slash24 = LocalSubnet(host: host, prefixLength: 24)
        #expect(slash24.contains(NetAddress(ipv4: (10, 1, 2, 200), port: 0).host))
        #expect(!slash24.contains(NetAddress(ipv4: (10, 1, 3, 1), port: 0).host))
        #expect(!slash24.containsUnicast(NetAddress(ipv4: (10, 1, 2, 255), port: 0).host))
        let v6 = NetAddress.Host.v6(0xFE80_0000_0000_0000, 0x1)
        let v6Subnet = LocalSubnet(host: v6, netmask: .v6(.max, 0))
        #expect(v6Subnet.prefixLength == 64)
        #expect(v6Subnet.contains(.v6(0xFE80_0000_0000_0000, 0x99)))
        #expect(!v6Subnet.contains(.v6(0xFE80_0000_0000_0001, 0x1)))
        #expect(!v6Subnet.contains(host))
        #expect(LocalSubnet(host: v6, netmask: .v6(.max, .max << 8)).prefixLength == 120)
    }

    @Test func tokenBucketTableStaysBoundedUnderNewKeys() {
        var table = TokenBucketTable<UInt32>(rate: 1, burst: 2, capacity: 64)
        for key in UInt32(0)..<10_000 { _ = table.take(key, now: .zero) }
        #expect(table.count <= 64)
        #expect(
            table.take(1, now: .zero) && table.take(1, now: .zero) && !table.take(1, now: .zero),
            "a fresh key has its burst")
        #expect(table.take(9_999, now: .zero) && !table.take(9_999, now: .zero), "a recent key kept its bucket")
    }
}
