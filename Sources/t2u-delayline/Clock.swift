// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Glibc

/// CLOCK_MONOTONIC in nanoseconds: the delay line's time base.
func monotonicNanos() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
}
