// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import T2UCore

/// The one clock the shells give the sans-IO core: monotonic nanoseconds, NIO's uptime clock,
/// so `Instant`s compare with the deadlines NIO timers fire at (`.uptimeNanoseconds`).
package enum MonotonicClock {
    @inline(__always)
    package static func now() -> Instant {
        Instant(nanoseconds: Int64(truncatingIfNeeded: NIODeadline.now().uptimeNanoseconds))
    }
}
