// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Logging
import NIOCore
import T2UCore
import T2UNIO

/// The device side of one introduced session's path discovery: runs a `TraversalExecution`
/// (role device) on the driver's loop: punches from the main socket (candidates, predicted
/// ports, birthday spray) or from auxiliary sockets (birthday, our NAT random endpoint-
/// dependent). The client validates; we only open our NAT. Auxiliary sockets no session uses
/// close when the window ends; one carrying a session stays until the session closes.
/// Punches go only where `PunchScope` allows, each one admitted by the runtime's `PunchBudget`.
final class DeviceTraversal {
    let sessionID: UInt64
    private let driver: EndpointDriver
    private var execution: TraversalExecution
    private var timer: Scheduled<Void>?
    private(set) var finished = false
    /// Whether a session with this client already runs on a direct path (then spraying stops).
    var reachedDirectly: () -> Bool = { false }
    private var strategiesDropped = false

    let scope: PunchScope
    /// Client candidates outside our subnets, left out of the plan.
    let droppedCandidates: [NetAddress]
    /// Asks the runtime's `PunchBudget` before each punch.
    private let admit: (NetAddress, PunchScope) -> Bool

    init(
        intro: SignalingMessage.Introduce, localNAT: NATBehavior, subnets: [LocalSubnet], driver: EndpointDriver,
        config: TraversalConfig = .init(), admit: @escaping (NetAddress, PunchScope) -> Bool
    ) {
        self.sessionID = intro.sessionID
        self.driver = driver
        self.admit = admit
        let entropy = SystemEntropy()
        let planner: TraversalPlanner
        (planner, scope, droppedCandidates) = TraversalPlanner.device(
            introduction: intro, localNAT: localNAT, subnets: subnets, entropy: entropy, now: EndpointDriver.now(),
            config: config)
        execution = TraversalExecution(planner: planner, scope: scope, entropy: entropy)
    }

    var strategies: [TraversalStrategy] { execution.planner.strategies }
    var auxiliarySocketsPlanned: Int { execution.planner.auxiliarySockets }
    /// Driver indices of the auxiliary sockets still open for this session.
    var auxiliary: [Int] { execution.auxiliary }

    /// Runs the plan; `windowEnded` is called once when it is over.
    func start(windowEnded: @escaping (DeviceTraversal) -> Void) {
        driver.eventLoop.assumeIsolated().scheduleTask(
            deadline: .uptimeNanoseconds(UInt64(max(0, execution.planner.windowEnd.nanoseconds)))
        ) { [self] in
            finish()
            windowEnded(self)
        }
        run()
    }

    /// Ends the plan; its auxiliary sockets stay until `release`.
    func finish() {
        guard !finished else { return }
        finished = true
        _ = execution.stop(keeping: Set(execution.auxiliary))
        timer?.cancel()
        timer = nil
    }

    /// Closes the auxiliary sockets not in `inUse`.
    func release(keeping inUse: Set<Int>) {
        driver.closeAuxiliarySockets(execution.release(keeping: inUse))
    }

    private func run() {
        timer = nil
        guard !finished else { return }
        let now = EndpointDriver.now()
        if !strategiesDropped, reachedDirectly() {
            strategiesDropped = true
            execution.dropNATStrategies()
        }
        while let step = execution.poll(now: now) { perform(step) }
        if let next = execution.nextDeadline() {
            timer = driver.eventLoop.assumeIsolated().scheduleTask(
                deadline: .uptimeNanoseconds(UInt64(max(0, next.nanoseconds)))
            ) { [self] in run() }
        }
    }

    /// A punch of this session's client arrived from `address` on socket `socket` (a mapping
    /// of one of its auxiliary sockets, found by our spray or its punch): answered per
    /// `TraversalExecution.punchArrived`, within our budget.
    func answer(_ address: NetAddress, socket: Int) {
        guard let step = execution.punchArrived(from: address, socket: socket, now: EndpointDriver.now()) else {
            return
        }
        perform(step)
    }

    private func perform(_ step: TraversalExecution.Step) {
        switch step {
        case .send(let datagram, let address, let socket):
            guard admit(address, scope) else { return }
            driver.send(datagram, to: address, socket: socket)
        case .openSockets(let count):
            driver.openAuxiliarySockets(count: count).assumeIsolated().whenSuccess { [self] indices in
                driver.closeAuxiliarySockets(execution.socketsOpened(indices))
            }
        case .probe:
            break  // client only
        }
    }
}
