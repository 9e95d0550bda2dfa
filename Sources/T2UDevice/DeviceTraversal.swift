// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Logging
import NIOCore
import T2UCore
import T2UNIO

/// The device side of one introduced session's path discovery: runs a `TraversalPlanner`
/// (role device) on the driver's loop: punches from the main socket (candidates, predicted
/// ports, birthday spray) or from auxiliary sockets (birthday, our NAT random endpoint-
/// dependent). The client validates; we only open our NAT. Auxiliary sockets no session uses
/// close when the window ends; one carrying a session stays until the session closes.
/// Punches go only where `PunchScope` allows, each one admitted by the runtime's `PunchBudget`.
final class DeviceTraversal {
    let sessionID: UInt64
    private let driver: EndpointDriver
    private var planner: TraversalPlanner
    private var timer: Scheduled<Void>?
    private let entropy = SystemEntropy()
    /// Planner socket number (1...K) -> driver auxiliary index.
    private(set) var auxiliary: [Int] = []
    private var auxiliaryRequested = false
    private(set) var finished = false
    /// Whether a session with this client already runs on a direct path (then spraying stops).
    var reachedDirectly: () -> Bool = { false }
    private var strategiesDropped = false

    let scope: PunchScope
    /// Client candidates outside our subnets, left out of the plan.
    let droppedCandidates: [NetAddress]
    /// Asks the runtime's `PunchBudget` before each punch.
    private let admit: (NetAddress, PunchScope) -> Bool
    /// Senders whose punch we answered (once each).
    private var answered: Set<NetAddress> = []
    /// Answers per session at most: a birthday search has one hit, a few at most.
    static let maxAnswers = 16

    init(
        intro: SignalingMessage.Introduce, localNAT: NATBehavior, subnets: [LocalSubnet], driver: EndpointDriver,
        config: TraversalConfig = .init(), admit: @escaping (NetAddress, PunchScope) -> Bool
    ) {
        self.sessionID = intro.sessionID
        self.driver = driver
        self.admit = admit
        (planner, scope, droppedCandidates) = TraversalPlanner.device(
            introduction: intro, localNAT: localNAT, subnets: subnets, entropy: entropy, now: EndpointDriver.now(),
            config: config)
    }

    var strategies: [TraversalStrategy] { planner.strategies }
    var auxiliarySocketsPlanned: Int { planner.auxiliarySockets }

    /// Runs the plan; `windowEnded` is called once when it is over.
    func start(windowEnded: @escaping (DeviceTraversal) -> Void) {
        driver.eventLoop.assumeIsolated().scheduleTask(
            deadline: .uptimeNanoseconds(UInt64(max(0, planner.windowEnd.nanoseconds)))
        ) { [self] in
            finish()
            windowEnded(self)
        }
        run()
    }

    func finish() {
        guard !finished else { return }
        finished = true
        planner.stop()
        timer?.cancel()
        timer = nil
    }

    /// Closes the auxiliary sockets not in `inUse`; returns those kept.
    func release(keeping inUse: Set<Int>) {
        driver.closeAuxiliarySockets(auxiliary.filter { !inUse.contains($0) })
        auxiliary = auxiliary.filter { inUse.contains($0) }
    }

    private func run() {
        timer = nil
        guard !finished else { return }
        let now = EndpointDriver.now()
        if !strategiesDropped, reachedDirectly() {
            strategiesDropped = true
            planner.dropNATStrategies()
        }
        while let action = planner.poll(now: now) { execute(action) }
        if let next = planner.nextDeadline() {
            timer = driver.eventLoop.assumeIsolated().scheduleTask(
                deadline: .uptimeNanoseconds(UInt64(max(0, next.nanoseconds)))
            ) { [self] in run() }
        }
    }

    /// A punch of this session's client arrived from `address` (a mapping of one of its
    /// auxiliary sockets, found by our spray or its punch). Our spray may have reached that port
    /// before the mapping existed (the client waited: `PunchOrder`), so one punch goes back
    /// from the socket it reached: the client then probes through the socket it came to. Same
    /// size as what came in, within our `PunchScope` and budget, once per address, while the
    /// window lasts.
    func answer(_ address: NetAddress, socket: Int) {
        guard !finished, answered.count < Self.maxAnswers, scope.allows(address), answered.insert(address).inserted,
            admit(address, scope)
        else { return }
        var datagram = ByteBufferAllocator().buffer(capacity: TraversalPunch.length)
        TraversalPunch.write(sessionID: sessionID, entropy: entropy, into: &datagram)
        driver.send(datagram, to: address, socket: socket)
    }

    private func execute(_ action: TraversalAction) {
        switch action {
        case .punch(let address, let socket):
            let index = socket == 0 ? 0 : (socket <= auxiliary.count ? auxiliary[socket - 1] : -1)
            guard index >= 0, admit(address, scope) else { return }
            var datagram = ByteBufferAllocator().buffer(capacity: TraversalPunch.length)
            TraversalPunch.write(sessionID: sessionID, entropy: entropy, into: &datagram)
            driver.send(datagram, to: address, socket: index)
        case .openSockets(let count):
            guard !auxiliaryRequested else { return }
            auxiliaryRequested = true
            driver.openAuxiliarySockets(count: count).assumeIsolated().whenSuccess { [self] indices in
                if finished { driver.closeAuxiliarySockets(indices) } else { auxiliary = indices }
            }
        case .probe:
            break  // client only
        }
    }
}
