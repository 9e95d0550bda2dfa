// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore

/// A non-Sendable value that lives on one event loop, and the hops that reach it from anywhere.
/// `NIOLoopBound` checks every access is made on that loop, so the value's confinement is
/// proved by types and a precondition, not asserted by an unchecked conformance.
package struct LoopOwned<Value>: Sendable {
    package let eventLoop: EventLoop
    private let bound: NIOLoopBoundBox<Value>

    /// Call on `eventLoop` (checked).
    package init(_ value: Value, eventLoop: EventLoop) {
        self.eventLoop = eventLoop
        self.bound = NIOLoopBoundBox(value, eventLoop: eventLoop)
    }

    /// From anywhere: `value` moves in (the compiler checks nothing else keeps it).
    package init(sending value: sending Value, eventLoop: EventLoop) {
        self.eventLoop = eventLoop
        self.bound = NIOLoopBoundBox.makeBoxSendingValue(value, eventLoop: eventLoop)
    }

    /// The value, read on its loop (checked).
    package var value: Value { bound.value }

    /// Runs `body` with the value on its loop.
    package func submit<T: Sendable>(_ body: @escaping @Sendable (Value) throws -> T) -> EventLoopFuture<T> {
        let bound = self.bound
        return eventLoop.submit { try body(bound.value) }
    }

    /// Runs `body` with the value on its loop and waits for the future it returns.
    package func flatSubmit<T: Sendable>(
        _ body: @escaping @Sendable (Value) -> EventLoopFuture<T>
    ) -> EventLoopFuture<T> {
        let bound = self.bound
        return eventLoop.flatSubmit { body(bound.value) }
    }

    /// Runs `body` with the value on its loop, later.
    package func execute(_ body: @escaping @Sendable (Value) -> Void) {
        let bound = self.bound
        eventLoop.execute { body(bound.value) }
    }
}
