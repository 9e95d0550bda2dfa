// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Dispatch
import Synchronization

/// Runs async SDK work from a C caller's thread and waits for it, at most `timeoutSeconds`.
/// C callers are plain threads, never Swift concurrency threads, so parking one on a semaphore
/// cannot starve the cooperative pool. On timeout the task is cancelled and `late` receives the
/// result if it still arrives (e.g. to undo an add_port that finished after we gave up).
func blockingWait<T: Sendable>(
    timeoutSeconds: Double,
    late: (@Sendable (T) -> Void)? = nil,
    _ body: @escaping @Sendable () async -> T
) -> T? {
    let slot = ResultSlot<T>(late: late)
    let semaphore = DispatchSemaphore(value: 0)
    let task = Task {
        let value = await body()
        slot.deliver(value)
        semaphore.signal()
    }
    if semaphore.wait(timeout: .now() + timeoutSeconds) == .success {
        return slot.take()
    }
    // Gave up: whatever comes later goes to `late`, not to us.
    if let value = slot.abandon() { return value }
    task.cancel()
    return nil
}

private final class ResultSlot<T: Sendable>: Sendable {
    private enum State {
        case waiting
        case done(T)
        case abandoned, taken
    }
    private let state = Mutex<State>(.waiting)
    private let late: (@Sendable (T) -> Void)?

    init(late: (@Sendable (T) -> Void)?) { self.late = late }

    func deliver(_ value: T) {
        let abandoned: Bool = state.withLock { state in
            if case .abandoned = state { return true }
            state = .done(value)
            return false
        }
        if abandoned { late?(value) }
    }

    func take() -> T? {
        state.withLock { state in
            guard case .done(let value) = state else { return nil }
            state = .taken
            return value
        }
    }

    /// Marks the waiter gone; returns the value if it raced in just before.
    func abandon() -> T? {
        state.withLock { state in
            if case .done(let value) = state {
                state = .taken
                return value
            }
            state = .abandoned
            return nil
        }
    }
}
