// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import T2UTestSupport
import Testing

/// The waits the other suites rest on: no sockets, only tasks.
@Suite struct WatchedTests {
    @Test func returnsAtOnceWhenThePredicateAlreadyHolds() async throws {
        let watched = Watched(3)
        #expect(try await watched.wait(for: "three", timeout: .seconds(1)) { $0 == 3 } == 3)
    }

    @Test func resumesWhenAnUpdateSatisfiesThePredicate() async throws {
        let watched = Watched(0)
        let waiter = Task { try await watched.wait(for: "at least 5", timeout: .seconds(30)) { $0 >= 5 } }
        for value in 1...5 { watched.set(value) }
        #expect(try await waiter.value == 5)
    }

    @Test func updateReturnsItsResultAndWakesOnlySatisfiedWaiters() async throws {
        let watched = Watched([Int]())
        let two = Task { try await watched.wait(for: "two items", timeout: .seconds(30)) { $0.count >= 2 } }
        let one = Task { try await watched.wait(for: "one item", timeout: .seconds(30)) { $0.count >= 1 } }
        let count = watched.update { items -> Int in
            items.append(7)
            return items.count
        }
        #expect(count == 1)
        #expect(try await one.value == [7])
        watched.update { $0.append(8) }
        #expect(try await two.value == [7, 8])
    }

    @Test func timesOutNamingWhatItWaitedFor() async throws {
        let watched = Watched(false)
        let started = ContinuousClock.now
        do {
            try await watched.wait(for: "the flag", timeout: .milliseconds(50)) { $0 }
            Issue.record("the wait returned without the flag")
        } catch let error as WaitTimedOut {
            #expect(error.what == "the flag")
            #expect("\(error)".contains("the flag"))
        }
        #expect(ContinuousClock.now - started >= .milliseconds(50))
        // A later change resumes nobody twice (the timed-out waiter is gone).
        watched.set(true)
        #expect(try await watched.wait(for: "the flag", timeout: .seconds(1)) { $0 })
    }

    @Test func cancellationEndsTheWait() async throws {
        let watched = Watched(0)
        let waiter = Task { try await watched.wait(for: "never", timeout: .seconds(60)) { $0 < 0 } }
        waiter.cancel()
        await #expect(throws: CancellationError.self) { try await waiter.value }
    }
}

@Suite struct PollingTests {
    @Test func untilReturnsOnceTheConditionHolds() async throws {
        var calls = 0
        try await until("the third call", timeout: .seconds(30), every: .milliseconds(1)) {
            calls += 1
            return calls >= 3
        }
        #expect(calls == 3)
    }

    @Test func untilThrowsNamingWhatItWaitedFor() async throws {
        await #expect(throws: WaitTimedOut.self) {
            try await until("a condition that never holds", timeout: .milliseconds(30)) { false }
        }
    }

    @Test func pollReturnsTheFirstValue() async throws {
        var calls = 0
        let value = try await poll("a value", timeout: .seconds(30), every: .milliseconds(1)) { () -> String? in
            calls += 1
            return calls == 2 ? "second" : nil
        }
        #expect(value == "second")
    }

    @Test func eventuallyReportsInsteadOfThrowing() async {
        #expect(await eventually(timeout: .milliseconds(30)) { false } == false)
        #expect(await eventually(timeout: .seconds(30)) { true })
    }

    @Test func theLastCheckRunsAfterTheDeadline() async throws {
        // A condition that comes true only after the deadline still counts once checked then.
        let deadline = ContinuousClock.now + .milliseconds(20)
        #expect(
            await eventually(timeout: .milliseconds(20), every: .milliseconds(50)) { ContinuousClock.now >= deadline })
    }
}
