// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import T2UCore
import T2USim
import Testing

@Suite struct SimulatedNetworkTests {
    let clientAddress = NetAddress(ipv4: (10, 0, 0, 2), port: 5000)
    let serverAddress = NetAddress(ipv4: (192, 0, 2, 1), port: 443)

    @Test func echoOverPerfectLinkIsInstant() {
        let net = SimulatedNetwork(seed: 1)
        let echo = EchoHost(address: serverAddress)
        let ping = PingHost(address: clientAddress, target: serverAddress, count: 10, interval: .milliseconds(1))
        net.add(echo)
        net.add(ping)
        let met = net.run(until: Instant.zero + .seconds(1), while: { !ping.done })
        #expect(met)
        #expect(ping.replies.map(\.sequence) == Array(0..<10))
        #expect(ping.replies.map(\.at) == ping.sent)
        #expect(net.now == Instant.zero + .milliseconds(9))
        #expect(echo.sources.allSatisfy { $0 == clientAddress })
    }

    @Test func linkDelayGivesTheRoundTripTime() {
        let net = SimulatedNetwork(seed: 1)
        let echo = EchoHost(address: serverAddress)
        let ping = PingHost(address: clientAddress, target: serverAddress, count: 20, interval: .milliseconds(3))
        net.add(echo)
        net.add(ping)
        net.setLink(from: clientAddress, to: serverAddress, LinkConditions(delay: .milliseconds(10)))
        net.setLink(from: serverAddress, to: clientAddress, LinkConditions(delay: .milliseconds(15)))
        #expect(net.run(until: Instant.zero + .seconds(1), while: { !ping.done }))
        for reply in ping.replies {
            #expect(reply.at - ping.sent[reply.sequence] == .milliseconds(25))
        }
        #expect(net.linkStats(from: clientAddress, to: serverAddress).delivered == 20)
    }

    @Test func bandwidthLimitsThroughput() {
        // 8 Mbit/s: 1000 B takes 1 ms; 100 datagrams sent at once arrive over 100 ms.
        let net = SimulatedNetwork(seed: 1)
        let echo = EchoHost(address: serverAddress)
        let ping = PingHost(address: clientAddress, target: serverAddress, count: 100, interval: .zero, size: 1000)
        net.add(echo)
        net.add(ping)
        net.setLink(from: clientAddress, to: serverAddress, LinkConditions(bandwidthBitsPerSecond: 8e6))
        #expect(net.run(until: Instant.zero + .seconds(1), while: { !ping.done }))
        #expect(ping.replies.last?.at == Instant.zero + .milliseconds(100))
        #expect(ping.replies.map(\.sequence) == Array(0..<100))
    }

    private func tracedRun(seed: UInt64) -> (trace: [SimTraceEvent], replies: Int) {
        let net = SimulatedNetwork(seed: seed)
        var trace: [SimTraceEvent] = []
        net.tracer = { trace.append($0) }
        let echo = EchoHost(address: serverAddress)
        let ping = PingHost(
            address: clientAddress, target: serverAddress, count: 2000, interval: .microseconds(300), size: 1200)
        net.add(echo)
        net.add(ping)
        let impaired = LinkConditions(
            delay: .milliseconds(20), jitter: .milliseconds(4), lossRate: 0.05, reorderRate: 0.03,
            reorderDelay: .milliseconds(6), duplicateRate: 0.02, bandwidthBitsPerSecond: 25e6,
            queueLimitBytes: 20_000)
        net.setLinks(between: clientAddress, and: serverAddress, impaired)
        net.run(until: Instant.zero + .seconds(5))
        return (trace, ping.replies.count)
    }

    @Test(arguments: [UInt64(3), 0xC0FFEE])
    func sameSeedGivesIdenticalTrace(seed: UInt64) {
        let first = tracedRun(seed: seed)
        let second = tracedRun(seed: seed)
        #expect(first.trace.count > 4000, "seed \(seed)")
        #expect(first.trace == second.trace, "seed \(seed): traces differ")
        #expect(first.replies == second.replies)
        // The impairments really acted: some packets lost, so not every ping came back.
        #expect(first.replies < 2000 && first.replies > 1000, "seed \(seed): \(first.replies) replies")
        let other = tracedRun(seed: seed &+ 1)
        #expect(other.trace != first.trace, "seed \(seed) and \(seed &+ 1) gave the same trace")
    }

    @Test func rebindingChangesTheSourceAndRoutesRepliesToTheNewAddress() {
        let net = SimulatedNetwork(seed: 9)
        var trace: [SimTraceEvent] = []
        net.tracer = { trace.append($0) }
        let echo = EchoHost(address: serverAddress)
        let ping = PingHost(address: clientAddress, target: serverAddress, count: 100, interval: .milliseconds(2))
        net.add(echo)
        net.add(ping)
        net.setLinks(between: clientAddress, and: serverAddress, LinkConditions(delay: .milliseconds(5)))
        let rebound = NetAddress(ipv4: (10, 0, 0, 2), port: 6001)
        net.schedule(at: Instant.zero + .milliseconds(101)) { net.rebind(ping, to: rebound) }
        net.run(until: Instant.zero + .seconds(1))

        #expect(net.currentAddress(of: ping) == rebound)
        // Before the rebinding the echo saw the old address, afterwards only the new one.
        let firstNew = echo.sources.firstIndex(of: rebound)
        #expect(firstNew != nil)
        if let firstNew {
            #expect(echo.sources[..<firstNew].allSatisfy { $0 == clientAddress })
            #expect(echo.sources[firstNew...].allSatisfy { $0 == rebound })
        }
        // Replies in flight to the old address at the moment of rebinding are lost (the NAT
        // mapping is gone); every other one arrives, and later ones over the moved link.
        #expect(net.stats.datagramsUndeliverable >= 1)
        #expect(ping.replies.count == 100 - Int(net.stats.datagramsUndeliverable))
        #expect(ping.replies.last?.sequence == 99)
        #expect(net.linkStats(from: rebound, to: serverAddress).sent > 0)
        #expect(net.linkStats(from: serverAddress, to: rebound).delivered > 0)
        #expect(trace.contains(.rebind(at: Instant.zero + .milliseconds(101), from: clientAddress, to: rebound)))
        // The moved link kept its delay: round trips after the rebinding are still 10 ms.
        for reply in ping.replies where reply.sequence > 60 {
            #expect(reply.at - ping.sent[reply.sequence] == .milliseconds(10))
        }
    }

    @Test func linkPresetForTheNewAddressAppliesAfterRebinding() {
        let net = SimulatedNetwork(seed: 4)
        let echo = EchoHost(address: serverAddress)
        let ping = PingHost(address: clientAddress, target: serverAddress, count: 40, interval: .milliseconds(5))
        net.add(echo)
        net.add(ping)
        let rebound = NetAddress(ipv4: (10, 0, 0, 3), port: 5000)
        net.setLinks(between: clientAddress, and: serverAddress, LinkConditions(delay: .milliseconds(1)))
        net.setLinks(between: rebound, and: serverAddress, LinkConditions(delay: .milliseconds(20)))
        net.schedule(at: Instant.zero + .milliseconds(100)) { net.rebind(ping, to: rebound) }
        net.run(until: Instant.zero + .seconds(1))
        #expect(ping.replies.count == 40)
        for reply in ping.replies {
            let rtt = reply.at - ping.sent[reply.sequence]
            #expect(rtt == .milliseconds(reply.sequence < 20 ? 2 : 40), "sequence \(reply.sequence): \(rtt)")
        }
    }

    @Test func onDeliverSeesEveryDeliveredDatagram() {
        let net = SimulatedNetwork(seed: 1)
        var seen: [(size: Int, from: NetAddress, to: NetAddress)] = []
        net.onDeliver = { datagram, from, to in seen.append((datagram.readableBytes, from, to)) }
        let echo = EchoHost(address: serverAddress)
        let ping = PingHost(
            address: clientAddress, target: serverAddress, count: 3, interval: .milliseconds(1), size: 50)
        net.add(echo)
        net.add(ping)
        net.run(until: Instant.zero + .seconds(1))
        #expect(seen.count == 6)
        #expect(seen.allSatisfy { $0.size == 50 })
        #expect(seen.filter { $0.to == serverAddress && $0.from == clientAddress }.count == 3)
    }

    @Test func runStopsWhenTheConditionFailsOrAtTheDeadline() {
        let net = SimulatedNetwork(seed: 1)
        let echo = EchoHost(address: serverAddress)
        let ping = PingHost(address: clientAddress, target: serverAddress, count: 10, interval: .milliseconds(10))
        net.add(echo)
        net.add(ping)
        net.setLinks(between: clientAddress, and: serverAddress, LinkConditions(delay: .milliseconds(1)))
        // Condition reached: stops at the step that reached it.
        #expect(net.run(until: Instant.zero + .seconds(1), while: { ping.replies.count < 3 }))
        #expect(net.now == Instant.zero + .milliseconds(22))
        // Deadline first: false, clock at the deadline, later events untouched.
        #expect(!net.run(until: Instant.zero + .milliseconds(40), while: { ping.replies.count < 9 }))
        #expect(net.now == Instant.zero + .milliseconds(40))
        #expect(ping.replies.count == 4)
        // Nothing left to do: runs to the deadline.
        #expect(!net.run(until: Instant.zero + .seconds(2)))
        #expect(net.now == Instant.zero + .seconds(2))
        #expect(ping.replies.count == 10)
        // A deadline in the past does nothing.
        #expect(!net.run(until: .zero))
        #expect(net.now == Instant.zero + .seconds(2))
    }

    @Test func scheduledActionsRunInOrderAtTheirTime() {
        let net = SimulatedNetwork(seed: 1)
        var log: [(String, Instant)] = []
        net.schedule(at: Instant.zero + .milliseconds(5)) { log.append(("b", net.now)) }
        net.schedule(at: Instant.zero + .milliseconds(1)) { log.append(("a", net.now)) }
        net.schedule(at: Instant.zero + .milliseconds(5)) {
            log.append(("c", net.now))
            net.schedule(at: .zero) { log.append(("d", net.now)) }  // in the past: runs now
        }
        net.run(until: Instant.zero + .milliseconds(10))
        #expect(log.map(\.0) == ["a", "b", "c", "d"])
        #expect(log.map(\.1) == [1, 5, 5, 5].map { Instant.zero + .milliseconds($0) })
    }

    @Test func undeliverableWithoutHostAtDestination() {
        let net = SimulatedNetwork(seed: 1)
        let nowhere = NetAddress(ipv4: (198, 51, 100, 7), port: 1)
        let ping = PingHost(address: clientAddress, target: nowhere, count: 5, interval: .milliseconds(1))
        net.add(ping)
        net.run(until: Instant.zero + .seconds(1))
        #expect(ping.sent.count == 5)
        #expect(ping.replies.isEmpty)
        #expect(net.stats.datagramsUndeliverable == 5)
    }

    @Test func livelockedHostFailsLoudly() async {
        await #expect(processExitsWith: .failure) {
            let net = SimulatedNetwork(seed: 77)
            net.maxEventsPerInstant = 1000
            net.add(StuckTimerHost(address: NetAddress(ipv4: (10, 9, 9, 9), port: 9)))
            net.run(until: Instant.zero + .seconds(1))
        }
    }
}
