// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Logging
import NIOCore
import T2UNIO

/// A started agent as the outside sees it: its runtime, which only code on its loop may touch
/// (`LoopOwned` checks it). Sendable, so the agent's actor can keep it.
struct RunningDevice: Sendable {
    let runtime: LoopOwned<DeviceRuntime>
    let logger: Logger

    /// How long shutdown waits for sessions to finish closing (peers told, tunnels torn down).
    static let sessionCloseGrace: TimeAmount = .seconds(2)

    /// Runs `body` with the runtime on its loop.
    func onLoop<T: Sendable>(_ body: @escaping @Sendable (DeviceRuntime) throws -> T) async throws -> T {
        try await runtime.submit(body).get()
    }

    /// Closes the sessions and the sockets (the loop is the caller's).
    func shutdown() async {
        let discovery = (try? await onLoop { $0.discovery }) ?? []
        for channel in discovery { try? await channel.close().get() }
        // The mapping is deleted at the gateway first (bounded), while the loop still runs.
        if let mapper = try? await onLoop({ $0.gatewayPortMapper }), let shell = try? await mapper.get() {
            try? await shell.stop().get()
        }
        await closeSessions()
        try? await runtime.flatSubmit { $0.driver.close(reason: "device shutting down") }.get()
    }

    /// Closes every session and waits (bounded) until their tunnels saw the end, so bridged
    /// TCP connections are reset and nothing is left pending when the socket closes.
    private func closeSessions() async {
        let open = (try? await onLoop { $0.closeAllSessions() }) ?? 0
        guard open > 0 else { return }
        let deadline = NIODeadline.now() + Self.sessionCloseGrace
        while NIODeadline.now() < deadline {
            if (try? await onLoop { $0.sessionCount == 0 }) ?? true { return }
            try? await Task.sleep(nanoseconds: 10_000_000)
        }
        let left = (try? await onLoop { $0.sessionCount }) ?? 0
        logger.notice("sessions still closing at shutdown", metadata: ["count": "\(left)"])
    }
}
