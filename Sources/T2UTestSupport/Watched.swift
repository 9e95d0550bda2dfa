// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Synchronization

/// What a test waited for and how long, when it did not happen in time.
package struct WaitTimedOut: Error, CustomStringConvertible {
    package let what: String
    package let timeout: Duration

    package init(what: String, timeout: Duration) {
        self.what = what
        self.timeout = timeout
    }

    package var description: String { "timed out after \(timeout) waiting for \(what)" }
}

/// A value that tests wait on: a handler or callback changes it (`set`, `update`), and every
/// `wait` whose predicate then holds resumes at once. Waiting on the event itself, not on a
/// sleep that hopes the event came first.
package final class Watched<Value: Sendable>: Sendable {
    private struct Waiter {
        let predicate: @Sendable (Value) -> Bool
        let continuation: CheckedContinuation<Value, any Error>
        var timer: Task<Void, Never>?
    }

    private struct State {
        var value: Value
        var waiters: [UInt64: Waiter] = [:]
        var nextID: UInt64 = 0
        /// Waits cancelled before their continuation was registered.
        var cancelled: Set<UInt64> = []
    }

    private enum Start {
        case ready(Value)
        case cancelled, waiting
    }

    private let state: Mutex<State>

    package init(_ value: Value) { state = Mutex(State(value: value)) }

    package var value: Value { state.withLock { $0.value } }

    package func set(_ value: Value) { update { $0 = value } }

    /// Changes the value under the lock, then resumes the waiters it satisfies.
    @discardableResult
    package func update<Result: Sendable>(_ body: (inout Value) -> Result) -> Result {
        let (result, ready) = state.withLock { state -> (Result, [(Waiter, Value)]) in
            let result = body(&state.value)
            var ready: [(Waiter, Value)] = []
            for (id, waiter) in state.waiters where waiter.predicate(state.value) {
                ready.append((waiter, state.value))
                state.waiters[id] = nil
            }
            return (result, ready)
        }
        for (waiter, value) in ready {
            waiter.timer?.cancel()
            waiter.continuation.resume(returning: value)
        }
        return result
    }

    /// Returns the value once `predicate` holds (at once if it already does). Throws
    /// `WaitTimedOut` naming `what` after `timeout`, `CancellationError` when cancelled.
    @discardableResult
    package func wait(
        for what: String, timeout: Duration = .seconds(10), until predicate: @escaping @Sendable (Value) -> Bool
    ) async throws -> Value {
        let id = state.withLock { state -> UInt64 in
            state.nextID += 1
            return state.nextID
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Value, any Error>) in
                let start = state.withLock { state -> Start in
                    if state.cancelled.remove(id) != nil { return .cancelled }
                    if predicate(state.value) { return .ready(state.value) }
                    state.waiters[id] = Waiter(predicate: predicate, continuation: continuation)
                    return .waiting
                }
                switch start {
                case .ready(let value): continuation.resume(returning: value)
                case .cancelled: continuation.resume(throwing: CancellationError())
                case .waiting:
                    // The timeout is a real timer: it is what bounds the wait, not what it waits for.
                    let timer = Task { [self] in
                        guard (try? await Task.sleep(for: timeout)) != nil else { return }
                        fail(id, with: WaitTimedOut(what: what, timeout: timeout))
                    }
                    let resumed = state.withLock { state -> Bool in
                        guard state.waiters[id] != nil else { return true }
                        state.waiters[id]?.timer = timer
                        return false
                    }
                    if resumed { timer.cancel() }
                }
            }
        } onCancel: {
            fail(id, with: CancellationError(), remember: true)
        }
    }

    private func fail(_ id: UInt64, with error: any Error, remember: Bool = false) {
        let waiter = state.withLock { state -> Waiter? in
            guard let waiter = state.waiters.removeValue(forKey: id) else {
                if remember { state.cancelled.insert(id) }
                return nil
            }
            return waiter
        }
        waiter?.timer?.cancel()
        waiter?.continuation.resume(throwing: error)
    }
}
