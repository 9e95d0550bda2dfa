// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Foundation
import Synchronization
import T2UClient

/// What the check saw, shared by the poller, the transfer and the summary. Times in ms since
/// `start` (just before the port mapping request).
package final class CheckRecorder: Sendable {
    private struct State {
        var statuses: [(Int32, Int)] = []
        var paths: [(String, Int)] = []
        var peer = ""
        /// Why the link was relayed, last seen (`PathInfo.relayReason`).
        var relayReason: String?
        var connectMillis: Int?
        var firstByteMillis: Int?
        var verified: UInt64 = 0
        var transferSeconds: Double = 0
        var breaks: [String] = []
        var failure: String?
        var lastPathChange = ContinuousClock.now
        var stopRequested = false
        var stopHook: (@Sendable () -> Void)?
    }
    package let start = ContinuousClock.now
    private let state = Mutex(State())
    /// Where progress notes go (the command prints them on stderr as they happen).
    private let note: @Sendable (String) -> Void
    /// How a status reads for people.
    private let statusWords: @Sendable (PortStatus) -> String

    package init(
        note: @escaping @Sendable (String) -> Void, statusWords: @escaping @Sendable (PortStatus) -> String
    ) {
        self.note = note
        self.statusWords = statusWords
    }

    private func withLockedValue<T: Sendable>(_ body: (inout State) -> T) -> T {
        state.withLock { body(&$0) }
    }

    package var elapsedMillis: Int { Self.millis(ContinuousClock.now - start) }

    package static func millis(_ duration: Duration) -> Int {
        let parts = duration.components
        return Int(parts.seconds) * 1000 + Int(parts.attoseconds / 1_000_000_000_000_000)
    }

    package func observe(status: PortStatus, path: PathInfo?) {
        let now = elapsedMillis
        var notes: [String] = []
        withLockedValue { state in
            if state.statuses.last?.0 != status.rawValue {
                state.statuses.append((status.rawValue, now))
                notes.append("status \(status.rawValue) (\(statusWords(status)))")
                if status == .connected && state.connectMillis == nil { state.connectMillis = now }
            }
            if status == .connected, let path {
                let kind = path.relayed ? "relay" : (path.lan ? "lan" : "direct")
                if state.paths.last?.0 != kind {
                    state.paths.append((kind, now))
                    state.lastPathChange = ContinuousClock.now
                    notes.append("path \(kind) \(path.peerIP):\(path.peerPort)")
                }
                state.peer =
                    path.peerIP.contains(":") ? "[\(path.peerIP)]:\(path.peerPort)" : "\(path.peerIP):\(path.peerPort)"
                if let reason = path.relayReason, reason != state.relayReason {
                    state.relayReason = reason
                    notes.append("relayed: \(reason)")
                }
            }
        }
        for text in notes { note("check +\(now) ms: \(text)") }
    }

    package func firstByte() {
        let now = elapsedMillis
        withLockedValue { if $0.firstByteMillis == nil { $0.firstByteMillis = now } }
    }

    package func addVerified(_ bytes: UInt64, seconds: Double) {
        withLockedValue {
            $0.verified += bytes
            $0.transferSeconds += seconds
        }
    }

    package func noteBreak(_ why: String) {
        let now = elapsedMillis
        withLockedValue { $0.breaks.append(why) }
        note("check +\(now) ms: connection broke: \(why)")
    }

    package func fail(_ why: String) {
        withLockedValue { if $0.failure == nil { $0.failure = why } }
    }

    package var failure: String? { withLockedValue { $0.failure } }

    /// Replaces the failure with its cause, once that is known (a server that never answered).
    package func explain(_ why: String) {
        withLockedValue { $0.failure = why }
    }

    package var stopRequested: Bool { withLockedValue { $0.stopRequested } }

    /// Ends the transfer early (signal): the current connection stops sending and finishes.
    package func requestStop() {
        let hook = withLockedValue { state -> (@Sendable () -> Void)? in
            state.stopRequested = true
            return state.stopHook
        }
        hook?()
    }

    /// What `requestStop` pokes: the current connection's handler, on its event loop.
    package func setStopHook(_ hook: (@Sendable () -> Void)?) {
        withLockedValue { $0.stopHook = hook }
    }

    /// Returns once the path is not the relay (or at `until`).
    package func waitForDirectPath(until: ContinuousClock.Instant) async {
        while ContinuousClock.now < until, withLockedValue({ $0.paths.last?.0 ?? "relay" }) == "relay" {
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Returns once the path has not changed for `seconds` (or at the deadline).
    package func waitForSettledPath(seconds: Double, deadline: ContinuousClock.Instant) async {
        while ContinuousClock.now < deadline {
            let quiet = ContinuousClock.now - withLockedValue { $0.lastPathChange }
            if quiet >= .milliseconds(Int(seconds * 1000)) { return }
            try? await Task.sleep(for: .milliseconds(50))
        }
    }

    package func line() -> String {
        withLockedValue { state in
            let ok = state.failure == nil && state.verified > 0
            let mbps = state.transferSeconds > 0 ? Double(state.verified) * 8 / state.transferSeconds / 1e6 : 0
            var fields = [
                "CHECK ok=\(ok ? 1 : 0)",
                "path=\(state.paths.last?.0 ?? "none")",
                "peer=\(state.peer.isEmpty ? "-" : state.peer)",
                "ttfb_ms=\(state.firstByteMillis.map(String.init) ?? "-")",
                "final_path_ms=\(state.paths.last.map { String($0.1) } ?? "-")",
                "connect_ms=\(state.connectMillis.map(String.init) ?? "-")",
                "bytes=\(state.verified)",
                "mbps=\(String(format: "%.1f", mbps))",
                "breaks=\(state.breaks.count)",
                "statuses=\(state.statuses.map { "\($0.0)@\($0.1)" }.joined(separator: ","))",
                "paths=\(state.paths.map { "\($0.0)@\($0.1)" }.joined(separator: ","))",
            ]
            if let failure = state.failure {
                fields.append("error=\"\(failure.replacingOccurrences(of: "\"", with: "'"))\"")
            }
            return fields.joined(separator: " ")
        }
    }

    /// The CHECK line's fields as one JSON object (`--json`).
    package func json() -> [String: Any] {
        let state = withLockedValue { $0 }
        let mbps = state.transferSeconds > 0 ? Double(state.verified) * 8 / state.transferSeconds / 1e6 : 0
        let none: Any = NSNull()
        var object: [String: Any] = [
            "ok": state.failure == nil && state.verified > 0,
            "path": state.paths.last?.0 ?? "none",
            "peer": state.peer.isEmpty ? none : state.peer,
            "ttfb_ms": state.firstByteMillis ?? none,
            "final_path_ms": state.paths.last?.1 ?? none,
            "connect_ms": state.connectMillis ?? none,
            "bytes": state.verified,
            "mbps": (mbps * 10).rounded() / 10,
            "breaks": state.breaks.count,
            "statuses": state.statuses.map { ["value": Int($0.0), "ms": $0.1] },
            "paths": state.paths.map { ["value": $0.0, "ms": $0.1] as [String: Any] },
        ]
        if let failure = state.failure { object["error"] = failure }
        if state.paths.last?.0 == "relay", let reason = state.relayReason { object["relay_reason"] = reason }
        return object
    }
}
