// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import Testing

@testable import T2UCore

/// The netcheck measurement on a virtual clock: probes to both server ports each round, round
/// trips and mapped addresses from the answers, the hairpin test, the key from CHALLENGE, and
/// the timeout.
@Suite struct NetCheckProbeTests {
    static let server = NetAddress(ipv4: (192, 0, 2, 10), port: 7000)
    static let observation = NetAddress(ipv4: (192, 0, 2, 10), port: 7001)
    static let mapped = NetAddress(ipv4: (203, 0, 113, 5), port: 40_000)

    static func probe(_ config: NetCheckProbe.Config = .init()) -> NetCheckProbe {
        NetCheckProbe(servers: [(server, observation)], entropy: SeededEntropy(seed: 3), now: .zero, config: config)
    }

    static func answer(_ t: NetCheckProbe.Transmit, observed: NetAddress) -> ByteBuffer? {
        guard case .probe(let id)? = try? SignalingMessage.parse(t.bytes) else { return nil }
        var b = ByteBuffer()
        SignalingMessage.probeResult(requestID: id, observed: observed).write(into: &b)
        return b
    }

    @Test func roundsMeasureLatencyMappingAndHairpin() {
        var p = Self.probe()
        var now = Instant.zero
        var hairpins: [NetCheckProbe.Transmit] = []
        var rtt: Int64 = 10
        while !p.isDone(now: now), now < .zero + .seconds(3) {
            for t in p.poll(now: now) {
                if t.socket == .hairpin {
                    hairpins.append(t)
                    // The NAT loops it back to the primary socket.
                    p.receive(t.bytes, from: NetAddress(ipv4: (203, 0, 113, 5), port: 40_001), socket: .primary, now: now)
                    continue
                }
                // Main port sees 40000, observation port 40007 (symmetric, sequential).
                let seen = t.to == Self.server ? Self.mapped : NetAddress(ipv4: (203, 0, 113, 5), port: 40_007)
                if let reply = Self.answer(t, observed: seen) {
                    p.receive(reply, from: t.to, socket: .primary, now: now + .milliseconds(rtt))
                    rtt += 10
                }
            }
            now = p.nextDeadline() ?? now + .milliseconds(10)
        }
        let s = p.servers[0]
        #expect(s.main.sent == 3 && s.main.rtts.count == 3 && s.observed.sent == 3 && s.observed.rtts.count == 3)
        #expect(s.main.mapped == Self.mapped && s.observed.mapped?.port == 40_007)
        // Main and observation alternate: main got 10, 30, 50 ms.
        #expect(s.main.medianRTT == .milliseconds(30))
        #expect(hairpins.count == 1 && hairpins[0].to == Self.mapped)
        #expect(p.hairpinResult == true)
        #expect(NATBehavior.classify(main: s.main.mapped, observation: s.observed.mapped, local: []) == .endpointDependent(delta: 7))
        #expect(p.isDone(now: .zero + .milliseconds(400)), "done once everything answered, not at the timeout")
    }

    @Test func silentServerEndsAtTheTimeoutWithNothingMeasured() {
        var config = NetCheckProbe.Config()
        config.timeout = .milliseconds(800)
        var p = Self.probe(config)
        var now = Instant.zero
        var sent = 0
        while !p.isDone(now: now) {
            sent += p.poll(now: now).count
            guard let next = p.nextDeadline() else { break }
            now = next
        }
        #expect(now == .zero + .milliseconds(800))
        // 3 rounds x (HELLO once + main + observation).
        #expect(sent == 7)
        #expect(p.servers[0].main.rtts.isEmpty && p.servers[0].main.mapped == nil && p.servers[0].statedKey == nil)
        #expect(p.hairpinResult == nil, "nothing answered: no hairpin test")
    }

    @Test func hairpinNotLoopedBackIsFalseAndStrangersAreIgnored() {
        var p = Self.probe()
        var now = Instant.zero
        var hairpinSends = 0
        while !p.isDone(now: now), now < .zero + .seconds(3) {
            for t in p.poll(now: now) {
                if t.socket == .hairpin { hairpinSends += 1; continue }
                if let reply = Self.answer(t, observed: Self.mapped) {
                    // A copy from a stranger and one on the hairpin socket count for nothing.
                    p.receive(reply, from: NetAddress(ipv4: (198, 51, 100, 1), port: 7000), socket: .primary, now: now)
                    p.receive(reply, from: t.to, socket: .hairpin, now: now)
                    p.receive(reply, from: t.to, socket: .primary, now: now + .milliseconds(5))
                }
                if case .hello(let id, _)? = try? SignalingMessage.parse(t.bytes) {
                    var b = ByteBuffer()
                    SignalingMessage.challenge(requestID: id, cookie: [UInt8](repeating: 1, count: SignalingLimits.cookieLength),
                                               serverPublicKey: [UInt8](repeating: 7, count: 32)).write(into: &b)
                    p.receive(b, from: t.to, socket: .primary, now: now)
                }
            }
            now = p.nextDeadline() ?? now + .milliseconds(10)
        }
        #expect(hairpinSends == 3)
        #expect(p.hairpinResult == false)
        #expect(p.servers[0].main.rtts.count == 3)
        #expect(p.servers[0].statedKey == [UInt8](repeating: 7, count: 32))
    }
}
