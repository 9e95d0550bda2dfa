// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore

/// One side's traversal plan carried out, sans-IO: the planner's actions become punch
/// datagrams on numbered sockets, probes and socket requests; a punch that reaches us becomes a
/// probe back (client) or one punch back (device), within the session's `PunchScope`. The
/// client's and the device's agents and the simulator all run this, and only move the bytes
/// and keep the timer (`nextDeadline()`).
///
/// Sockets: 0 is the agent's main socket; the planner's auxiliary sockets 1...K map to
/// whatever indices the agent's `openSockets` produced (`socketsOpened`).
package struct TraversalExecution {
    package enum Step: Equatable {
        /// Send `datagram` (a `TraversalPunch`) to `address` from agent socket `socket`.
        case send(ByteBuffer, to: NetAddress, socket: Int)
        /// Client: probe `address` with the session connection's PATH_CHALLENGE, `attempts`
        /// times. `through`: the agent socket a punch from `address` reached (route the
        /// address there first); nil: the route table decides.
        case probe(NetAddress, attempts: Int, through: Int?)
        /// Open `count` auxiliary sockets, then report their indices with `socketsOpened`.
        case openSockets(Int)
    }

    package private(set) var planner: TraversalPlanner
    /// Where the peer can be: punches from elsewhere are not answered (a spoofed 13-byte punch
    /// must not buy probes or punches toward a victim). nil: nothing is answered.
    package let scope: PunchScope?
    /// Agent socket index of each planner auxiliary socket (1...K at positions 0...K-1).
    package private(set) var auxiliary: [Int] = []
    package private(set) var stopped = false
    /// Addresses probed or punched so far (client: `PathInfo.relayReason` counts them).
    package private(set) var tried: Set<NetAddress> = []
    private var auxiliaryRequested = false
    private let entropy: EntropySource
    /// Client: addresses a punch made us probe, with the strategy that produced them.
    private var punched: [NetAddress: TraversalStrategy] = [:]
    private var lastPunchProbe: [NetAddress: Instant] = [:]
    /// Device: senders whose punch was answered (once each).
    private var answered: Set<NetAddress> = []

    /// Client: punch-triggered probes per address at most this often, this many challenges.
    package static let punchProbeInterval: Nanos = .milliseconds(250)
    package static let punchProbeAttempts = 3
    /// Device: punches answered per session at most (a birthday search has one hit, a few at most).
    package static let maxAnswers = 16

    package init(planner: TraversalPlanner, scope: PunchScope?, entropy: EntropySource) {
        self.planner = planner
        self.scope = scope
        self.entropy = entropy
    }

    package var role: TraversalRole { planner.role }
    package var sessionID: UInt64 { planner.sessionID }

    package func nextDeadline() -> Instant? { stopped ? nil : planner.nextDeadline() }

    /// The next step due at `now`, or nil (then wait for `nextDeadline()`).
    package mutating func poll(now: Instant) -> Step? {
        guard !stopped else { return nil }
        while let action = planner.poll(now: now) {
            if let step = step(for: action) { return step }
        }
        return nil
    }

    private mutating func step(for action: TraversalAction) -> Step? {
        switch action {
        case .probe(let address, let attempts):
            guard role == .client else { return nil }
            tried.insert(address)
            return .probe(address, attempts: attempts, through: nil)
        case .punch(let address, let socket):
            guard let index = agentSocket(socket) else { return nil }
            tried.insert(address)
            return .send(punch(), to: address, socket: index)
        case .openSockets(let count):
            guard !auxiliaryRequested else { return nil }
            auxiliaryRequested = true
            return .openSockets(count)
        }
    }

    /// Planner socket number -> agent socket index; nil while the auxiliary sockets are not open.
    private func agentSocket(_ socket: Int) -> Int? {
        if socket == 0 { return 0 }
        return socket <= auxiliary.count ? auxiliary[socket - 1] : nil
    }

    private func punch() -> ByteBuffer {
        var datagram = ByteBuffer()
        datagram.reserveCapacity(TraversalPunch.length)
        TraversalPunch.write(sessionID: sessionID, entropy: entropy, into: &datagram)
        return datagram
    }

    /// The sockets `.openSockets` asked for are open; returns those to close again at once
    /// (the execution stopped meanwhile).
    package mutating func socketsOpened(_ indices: [Int]) -> [Int] {
        if stopped { return indices }
        auxiliary = indices
        return []
    }

    /// A punch of this session arrived from `address` on agent socket `socket`.
    /// - Client: the peer's NAT has a mapping toward that socket's now: probe back through it
    ///   (at most every `punchProbeInterval` per address).
    /// - Device: our own punches may have reached that port before the client's mapping
    ///   existed (the client waited: `PunchOrder`), so one punch goes back from the socket it
    ///   reached, once per address, `maxAnswers` at most.
    package mutating func punchArrived(from address: NetAddress, socket: Int, now: Instant) -> Step? {
        guard !stopped, scope?.allows(address) == true else { return nil }
        switch role {
        case .client:
            if let last = lastPunchProbe[address], now - last < Self.punchProbeInterval { return nil }
            lastPunchProbe[address] = now
            if punched[address] == nil {
                punched[address] = socket != 0 ? .birthday : planner.strategy(for: address) ?? .candidates
            }
            return .probe(address, attempts: Self.punchProbeAttempts, through: socket)
        case .device:
            guard answered.count < Self.maxAnswers, answered.insert(address).inserted else { return nil }
            return .send(punch(), to: address, socket: socket)
        }
    }

    /// The strategy that found `address` (for per-peer memory).
    package func strategy(for address: NetAddress) -> TraversalStrategy {
        punched[address] ?? planner.strategy(for: address) ?? .candidates
    }

    /// A direct path is in use: spraying on would only open more mappings; candidate rounds
    /// go on (a LAN path may still beat it).
    package mutating func dropNATStrategies() {
        planner.dropNATStrategies()
    }

    /// Ends the plan; returns the auxiliary sockets to close: all but those in `keeping` (the
    /// sockets a session's path goes through), which the execution still owns.
    package mutating func stop(keeping: Set<Int> = []) -> [Int] {
        stopped = true
        planner.stop()
        return release(keeping: keeping)
    }

    /// Returns the auxiliary sockets not in `keeping` (to close), keeping the others.
    package mutating func release(keeping: Set<Int>) -> [Int] {
        let closing = auxiliary.filter { !keeping.contains($0) }
        auxiliary = auxiliary.filter { keeping.contains($0) }
        return closing
    }
}
