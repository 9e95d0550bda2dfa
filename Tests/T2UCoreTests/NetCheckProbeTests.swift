// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import Testing

@testable import T2UCore

/// The netcheck measurement on a virtual clock against a modelled server and NAT: probes to
/// both server ports each round, round trips and mapped addresses from the answers, the
/// hairpin test, the filtering test, the key from CHALLENGE, and the timeout.
@Suite struct NetCheckProbeTests {
    static let server = NetAddress(ipv4: (192, 0, 2, 10), port: 7000)
    static let observation = NetAddress(ipv4: (192, 0, 2, 10), port: 7001)
    static let mapped = NetAddress(ipv4: (203, 0, 113, 5), port: 40_000)

    /// What the modelled network does.
    struct Network {
        /// The NAT lets in an answer from a server port the secondary socket never wrote to.
        var portIndependentFiltering = false
        /// The server honours "answer from the other port" (false: an older server).
        var serverKnowsFlag = true
        var hairpinLoops = true
        var serverAnswers = true
        /// Main-port PROBEs from the primary socket lost (by request order, 0-based).
        var lostMainProbes: Set<Int> = []
        var rtt = Nanos.milliseconds(20)
    }

    struct Arrival {
        var at: Instant
        var bytes: ByteBuffer
        var from: NetAddress
        var socket: NetCheckProbe.Socket
    }

    struct Run {
        var probe: NetCheckProbe
        var endedAt: Instant
        var sent: [NetCheckProbe.Transmit]
        var steps: Int
    }

    static func probe(_ config: NetCheckProbe.Config = .init()) -> NetCheckProbe {
        NetCheckProbe(servers: [(server, observation)], entropy: SeededEntropy(seed: 3), now: .zero, config: config)
    }

    static func reply(_ message: SignalingMessage) -> ByteBuffer {
        var b = ByteBuffer()
        message.write(into: &b)
        return b
    }

    /// Drives the probe as a shell does: poll, then sleep until the next deadline or arrival.
    static func run(_ network: Network, config: NetCheckProbe.Config = .init()) -> Run {
        var p = probe(config)
        var now = Instant.zero
        var queue: [Arrival] = []
        var sent: [NetCheckProbe.Transmit] = []
        var mainProbes = 0
        var steps = 0
        while !p.isDone(now: now) {
            steps += 1
            for t in p.poll(now: now) {
                sent.append(t)
                guard network.serverAnswers || t.to == mapped else { continue }
                let back = now + network.rtt
                // The NAT: one port toward the main port, another toward the observation port, and
                // another mapping for the secondary socket.
                let seen: NetAddress
                switch (t.socket, t.to) {
                case (.primary, server): seen = mapped
                case (.primary, _): seen = NetAddress(ipv4: (203, 0, 113, 5), port: 40_007)
                case (.secondary, _): seen = NetAddress(ipv4: (203, 0, 113, 5), port: 40_001)
                }
                switch try? SignalingMessage.parse(t.bytes) {
                case .hello(let id, _)?:
                    let challenge = SignalingMessage.challenge(
                        requestID: id, cookie: [UInt8](repeating: 1, count: SignalingLimits.cookieLength),
                        serverPublicKey: [UInt8](repeating: 7, count: 32))
                    queue.append(Arrival(at: back, bytes: reply(challenge), from: t.to, socket: t.socket))
                case .probe(let id)?:
                    if t.socket == .primary, t.to == server {
                        defer { mainProbes += 1 }
                        if network.lostMainProbes.contains(mainProbes) { continue }
                    }
                    queue.append(
                        Arrival(
                            at: back, bytes: reply(.probeResult(requestID: id, observed: seen)), from: t.to,
                            socket: t.socket))
                case .probeFromOtherPort(let id)?:
                    let answer = reply(.probeResult(requestID: id, observed: seen))
                    if !network.serverKnowsFlag {
                        queue.append(Arrival(at: back, bytes: answer, from: t.to, socket: t.socket))
                    } else if network.portIndependentFiltering {
                        queue.append(Arrival(at: back, bytes: answer, from: observation, socket: t.socket))
                    }
                default:
                    // The hairpin datagram, to our own mapped address.
                    if network.hairpinLoops {
                        queue.append(Arrival(at: now + .milliseconds(1), bytes: t.bytes, from: seen, socket: .primary))
                    }
                }
            }
            let wake = min(p.nextDeadline(after: now), queue.map(\.at).min() ?? .distantFuture)
            #expect(wake > now, "the next deadline lies ahead")
            guard wake > now, steps < 10_000 else { break }
            now = wake
            for arrival in queue where arrival.at <= now {
                p.receive(arrival.bytes, from: arrival.from, socket: arrival.socket, now: now)
            }
            queue.removeAll { $0.at <= now }
        }
        return Run(probe: p, endedAt: now, sent: sent, steps: steps)
    }

    @Test func roundsMeasureLatencyMappingHairpinAndPortDependentFiltering() {
        let r = Self.run(Network())
        let s = r.probe.servers[0]
        #expect(s.main.sent == 3 && s.main.rtts == [.milliseconds(20), .milliseconds(20), .milliseconds(20)])
        #expect(s.observed.sent == 3 && s.observed.rtts.count == 3)
        #expect(s.main.mapped == Self.mapped && s.observed.mapped?.port == 40_007)
        #expect(s.main.medianRTT == .milliseconds(20))
        #expect(
            NATBehavior.classify(main: s.main.mapped, observation: s.observed.mapped, local: [])
                == .endpointDependent(delta: 7))
        let hairpins = r.sent.filter { $0.to == Self.mapped }
        #expect(hairpins.count == 1 && hairpins[0].socket == .secondary)
        #expect(r.probe.hairpinResult == true)
        #expect(s.statedKey == [UInt8](repeating: 7, count: 32))
        // Filtering: 3 controls answered, none of the 3 answers from the other port came in.
        #expect(s.filtering.controlSent == 3 && s.filtering.controlAnswered == 3 && s.filtering.otherPortSent == 3)
        #expect(s.filtering.verdict == .portDependent)
        // Every filtering PROBE left from the secondary socket toward the main port only.
        let secondary = r.sent.filter { $0.socket == .secondary && $0.to != Self.mapped }
        #expect(secondary.count == 6 && secondary.allSatisfy { $0.to == Self.server })
        // Done when the wait for a filtered answer ends (last round at 300 ms + 300 ms), not at the timeout.
        #expect(r.endedAt == .zero + .milliseconds(600))
    }

    @Test func anAnswerFromTheOtherPortMeansPortIndependentFilteringAndEndsEarly() {
        let r = Self.run(Network(portIndependentFiltering: true))
        let f = r.probe.servers[0].filtering
        #expect(f.otherPortAnswered == 3 && f.answeredFromProbedPort == 0)
        #expect(f.verdict == .portIndependent)
        // Last round at 300 ms, its answers 20 ms later: nothing left to wait for.
        #expect(r.endedAt == .zero + .milliseconds(320))
    }

    @Test func anOlderServerAnsweringFromTheProbedPortIsNotReadAsFiltering() {
        let r = Self.run(Network(portIndependentFiltering: false, serverKnowsFlag: false))
        let f = r.probe.servers[0].filtering
        #expect(f.answeredFromProbedPort == 3 && f.otherPortAnswered == 0)
        #expect(f.verdict == .serverLacksTest)
        // The flagged answers must not count as controls or main-port answers either.
        #expect(f.controlAnswered == 3 && r.probe.servers[0].main.rtts.count == 3)
    }

    @Test func silentServerEndsAtTheTimeoutWithNothingMeasured() {
        var config = NetCheckProbe.Config()
        config.timeout = .milliseconds(800)
        let r = Self.run(Network(serverAnswers: false), config: config)
        #expect(r.endedAt == .zero + .milliseconds(800))
        // 3 rounds x (main + observation + filtering control + flagged) + HELLO once.
        #expect(r.sent.count == 13)
        let s = r.probe.servers[0]
        #expect(s.main.rtts.isEmpty && s.main.mapped == nil && s.statedKey == nil)
        #expect(s.filtering.verdict == .notMeasured)
        #expect(r.probe.hairpinResult == nil, "nothing answered: no hairpin test")
    }

    /// A lost PROBE holds the run to the timeout while the hairpin and filtering waits end
    /// before it: the deadlines must not fall into the past (a shell would spin on them).
    @Test func waitsThatEndBeforeALostProbeDoNotSpin() {
        var config = NetCheckProbe.Config()
        config.timeout = .milliseconds(1500)
        let r = Self.run(Network(hairpinLoops: false, lostMainProbes: [2]), config: config)
        #expect(r.endedAt == .zero + .milliseconds(1500))
        #expect(r.probe.hairpinResult == false)
        #expect(r.probe.servers[0].filtering.verdict == .portDependent)
        // 3 rounds, 3 hairpin tries and the waits' ends: a handful of wake-ups, not thousands.
        #expect(r.steps < 20, "\(r.steps) wake-ups")
    }

    @Test func strangersAndAnswersOnTheWrongSocketCountForNothing() {
        var p = Self.probe()
        let sent = p.poll(now: .zero)
        for t in sent {
            guard case .probe(let id)? = try? SignalingMessage.parse(t.bytes) else { continue }
            let answer = Self.reply(.probeResult(requestID: id, observed: Self.mapped))
            let otherSocket: NetCheckProbe.Socket = t.socket == .primary ? .secondary : .primary
            p.receive(answer, from: NetAddress(ipv4: (198, 51, 100, 1), port: 7000), socket: t.socket, now: .zero)
            p.receive(answer, from: t.to, socket: otherSocket, now: .zero)
        }
        let s = p.servers[0]
        #expect(s.main.rtts.isEmpty && s.observed.rtts.isEmpty && s.filtering.controlAnswered == 0)
        #expect(s.filtering.otherPortAnswered == 0 && s.filtering.answeredFromProbedPort == 0)
    }
}
