// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import T2UCore

/// A discrete-event network on a virtual clock. Hosts exchange datagrams over per-direction
/// `LinkModel`s; every random choice comes from `seed`, so a run replays exactly.
///
/// Scheduling: the next step is the earliest of the pending network events (deliveries and
/// `schedule`d actions, a heap ordered by time then scheduling order) and the hosts' deadlines;
/// at equal times network events go first, then timers in host registration order. After a
/// delivery or timeout the affected host is polled for transmissions until it returns nil;
/// after an action, and whenever `run` starts, every host is polled (so work queued by test code
/// between runs goes out).
///
/// Livelock: more than `maxEventsPerInstant` steps without the clock advancing (a host whose
/// deadline stays <= now after `handleTimeout`, or zero-delay ping-pong), or more than
/// `maxDatagramsPerPoll` datagrams from one poll, stop the process with the seed in the message.
package final class SimulatedNetwork {
    package let seed: UInt64
    package private(set) var now: Instant = .zero
    /// Conditions of links not configured with `setLink` (a perfect link unless changed).
    package var defaultConditions: LinkConditions = .perfect
    /// Called for every step when set (e.g. to record a trace and compare runs).
    package var tracer: ((SimTraceEvent) -> Void)?
    /// Called with (datagram, from, to) just before a datagram is handed to its host (e.g. to
    /// capture packets for replay or tampering tests).
    package var onDeliver: ((ByteBuffer, NetAddress, NetAddress) -> Void)?
    /// The sending host's socket refuses a datagram (from, to), as a kernel does with
    /// ENETUNREACH, EPERM, ENOBUFS ...: it never reaches the link, and the host carries on.
    package var refuseSend: ((NetAddress, NetAddress) -> Bool)?
    package var maxEventsPerInstant = 1_000_000
    package var maxDatagramsPerPoll = 1_000_000
    package private(set) var stats = Stats()

    package struct Stats: Sendable, Equatable {
        package var steps: UInt64 = 0
        package var datagramsSent: UInt64 = 0
        package var datagramsDelivered: UInt64 = 0
        package var datagramsUndeliverable: UInt64 = 0
        /// Refused by the sender's socket (`refuseSend`).
        package var datagramsRefused: UInt64 = 0
        package var timeouts: UInt64 = 0
    }

    private struct LinkKey: Hashable {
        var from: NetAddress
        var to: NetAddress
    }

    private struct HostEntry {
        let host: SimulatedHost
        /// The address its datagrams appear to come from and are routed to (changes on rebind).
        var address: NetAddress
    }

    private var hosts: [HostEntry] = []
    private var routes: [NetAddress: Int] = [:]
    private var links: [LinkKey: LinkModel] = [:]
    private var queue = EventQueue()
    private let linkSeeds: SeededEntropy
    private let hostSeeds: SeededEntropy
    private var spareBuffer: ByteBuffer?
    private let allocator = ByteBufferAllocator()
    private var stepsThisInstant = 0

    package init(seed: UInt64) {
        self.seed = seed
        // Separate streams, so creating host entropy does not shift the links' randomness.
        linkSeeds = SeededEntropy(seed: seed ^ 0x6c69_6e6b_7365_6564)
        hostSeeds = SeededEntropy(seed: seed ^ 0x686f_7374_7365_6564)
    }

    /// A generator for a host's own randomness, derived from the network's seed.
    package func makeEntropy() -> SeededEntropy {
        SeededEntropy(seed: hostSeeds.nextUInt64())
    }

    package func add(_ host: SimulatedHost) {
        precondition(routes[host.address] == nil, "SimulatedNetwork: address \(host.address) is already in use")
        routes[host.address] = hosts.count
        hosts.append(HostEntry(host: host, address: host.address))
    }

    /// Sets the conditions of the link carrying datagrams from `from` to `to` (one direction).
    /// A link already in use keeps its queue backlog and random stream.
    package func setLink(from: NetAddress, to: NetAddress, _ conditions: LinkConditions) {
        let key = LinkKey(from: from, to: to)
        if links[key] != nil {
            links[key]!.conditions = conditions
        } else {
            links[key] = makeLink(conditions)
        }
    }

    /// Sets both directions between `a` and `b`.
    package func setLinks(between a: NetAddress, and b: NetAddress, _ conditions: LinkConditions) {
        setLink(from: a, to: b, conditions)
        setLink(from: b, to: a, conditions)
    }

    /// Counters of one link direction (zero if it never carried anything).
    package func linkStats(from: NetAddress, to: NetAddress) -> LinkStats {
        links[LinkKey(from: from, to: to)]?.stats ?? LinkStats()
    }

    /// The address `host` currently sends from and is reached at.
    package func currentAddress(of host: SimulatedHost) -> NetAddress? {
        hosts.first { $0.host === host }?.address
    }

    /// NAT rebinding: from now on, datagrams sent by `host` appear to come from `newAddress`,
    /// and datagrams sent to `newAddress` reach it. The old address stops routing (datagrams in
    /// flight to it are lost, as when a NAT mapping changes). Links to and from the old address
    /// move to the new one with their conditions and state (same physical path), unless a link
    /// was already set for the new address, which then applies.
    package func rebind(_ host: SimulatedHost, to newAddress: NetAddress) {
        guard let index = hosts.firstIndex(where: { $0.host === host }) else {
            preconditionFailure("SimulatedNetwork.rebind: host \(host.address) was never added")
        }
        let old = hosts[index].address
        guard old != newAddress else { return }
        precondition(routes[newAddress] == nil, "SimulatedNetwork.rebind: \(newAddress) is already in use")
        routes[old] = nil
        routes[newAddress] = index
        hosts[index].address = newAddress
        let moved = links.filter { $0.key.from == old || $0.key.to == old }
        for (key, _) in moved { links[key] = nil }
        for (key, link) in moved {
            let from = key.from == old ? newAddress : key.from
            let to = key.to == old ? newAddress : key.to
            let newKey = LinkKey(from: from, to: to)
            if links[newKey] == nil { links[newKey] = link }
        }
        tracer?(.rebind(at: now, from: old, to: newAddress))
    }

    /// Runs `action` at virtual time `at` (now, if `at` is in the past); afterwards all hosts
    /// are polled for transmissions.
    package func schedule(at time: Instant, _ action: @escaping () -> Void) {
        queue.push(at: max(time, now), .action(action))
    }

    package func schedule(after delay: Nanos, _ action: @escaping () -> Void) {
        schedule(at: now + delay, action)
    }

    /// Processes events in time order while `condition()` holds (checked before every step),
    /// up to and including those at `deadline`.
    ///
    /// - Returns: `true` if it stopped because `condition()` returned false (the awaited state
    ///   was reached; `now` is the time of the step that reached it). `false` if the deadline
    ///   came first; the clock then stands at `deadline` (or stays at `now` if that is later).
    @discardableResult
    package func run(until deadline: Instant, while condition: () -> Bool = { true }) -> Bool {
        for index in hosts.indices { flush(index) }
        while true {
            if !condition() { return true }

            var timerHost = -1
            var timerAt = Instant.distantFuture
            for index in hosts.indices {
                if let due = hosts[index].host.nextDeadline(), due < timerAt {
                    timerAt = due
                    timerHost = index
                }
            }
            let eventAt = queue.nextTime ?? .distantFuture
            let stepAt = max(min(eventAt, timerAt), now)
            if stepAt > deadline || (timerHost < 0 && queue.count == 0) {
                if deadline > now { advance(to: deadline) }
                return false
            }
            advance(to: stepAt)
            stats.steps &+= 1

            if eventAt <= timerAt, let event = queue.pop() {
                process(event.payload)
            } else {
                stats.timeouts &+= 1
                tracer?(.timeout(at: now, host: hosts[timerHost].address))
                hosts[timerHost].host.handleTimeout(now: now)
                flush(timerHost)
            }
        }
    }

    /// `run(until: now + duration, while:)`.
    @discardableResult
    package func run(for duration: Nanos, while condition: () -> Bool = { true }) -> Bool {
        run(until: now + duration, while: condition)
    }

    // MARK: - Internals

    private func advance(to time: Instant) {
        if time > now {
            now = time
            stepsThisInstant = 0
            return
        }
        stepsThisInstant += 1
        if stepsThisInstant > maxEventsPerInstant {
            fatalError(
                "SimulatedNetwork livelock: \(stepsThisInstant) steps at \(now) without the clock advancing "
                    + "(a host deadline that stays <= now, or zero-delay ping-pong); seed \(seed)")
        }
    }

    private func process(_ payload: EventQueue.Payload) {
        switch payload {
        case let .deliver(datagram, from, to):
            guard let index = routes[to] else {
                stats.datagramsUndeliverable &+= 1
                tracer?(.undeliverable(at: now, from: from, to: to, size: datagram.readableBytes))
                return
            }
            stats.datagramsDelivered &+= 1
            if let tracer {
                tracer(
                    .deliver(
                        at: now, from: from, to: to, size: datagram.readableBytes,
                        digest: SimTraceEvent.digest(datagram)))
            }
            onDeliver?(datagram, from, to)
            hosts[index].host.receive(datagram, from: from, now: now)
            flush(index)
        case let .action(action):
            tracer?(.action(at: now))
            action()
            for index in hosts.indices { flush(index) }
        }
    }

    /// Sends everything `hosts[index]` has to send now.
    private func flush(_ index: Int) {
        let host = hosts[index].host
        var sent = 0
        while true {
            var buffer = spareBuffer ?? allocator.buffer(capacity: 2048)
            spareBuffer = nil
            buffer.clear()
            guard let destination = host.pollTransmit(now: now, into: &buffer) else {
                spareBuffer = buffer
                return
            }
            sent += 1
            if sent > maxDatagramsPerPoll {
                fatalError("SimulatedNetwork livelock: host \(host.address) keeps transmitting at \(now); seed \(seed)")
            }
            transmit(buffer, from: hosts[index].address, to: destination)
        }
    }

    private func transmit(_ datagram: ByteBuffer, from: NetAddress, to: NetAddress) {
        if let refuseSend, refuseSend(from, to) {
            stats.datagramsRefused &+= 1
            tracer?(.refused(at: now, from: from, to: to, size: datagram.readableBytes))
            return
        }
        stats.datagramsSent &+= 1
        let key = LinkKey(from: from, to: to)
        if links[key] == nil { links[key] = makeLink(defaultConditions) }
        let times = links[key]!.transmit(size: datagram.readableBytes, now: now)
        if let tracer {
            tracer(
                .transmit(
                    at: now, from: from, to: to, size: datagram.readableBytes,
                    digest: SimTraceEvent.digest(datagram), copies: times.count))
        }
        for time in times {
            queue.push(at: time, .deliver(datagram: datagram, from: from, to: to))
        }
    }

    private func makeLink(_ conditions: LinkConditions) -> LinkModel {
        LinkModel(conditions: conditions, entropy: SeededEntropy(seed: linkSeeds.nextUInt64()))
    }
}
