// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// Windowed maximum over a sliding window of "time" units (rounds), tracking the best, second
/// and third best samples (Kathleen Nichols' algorithm, as in BBR). O(1) memory and update, and
/// no heap storage (it lives inside value-type controllers copied on every ACK).
struct WindowedMaxFilter: Sendable {
    private struct Entry: Sendable {
        var value: Double
        var time: UInt64
    }
    private var s0 = Entry(value: 0, time: 0)
    private var s1 = Entry(value: 0, time: 0)
    private var s2 = Entry(value: 0, time: 0)
    let window: UInt64

    init(window: UInt64) { self.window = window }

    var best: Double { s0.value }

    mutating func reset(_ value: Double, time: UInt64) {
        s0 = Entry(value: value, time: time)
        s1 = s0
        s2 = s0
    }

    mutating func update(_ value: Double, time: UInt64) {
        let new = Entry(value: value, time: time)
        if value >= s0.value || time &- s2.time > window {
            reset(value, time: time)
            return
        }
        if value >= s1.value {
            s1 = new
            s2 = new
        } else if value >= s2.value {
            s2 = new
        }
        // Expire the best if it fell out of the window; promote the runners-up.
        if time &- s0.time > window {
            s0 = s1
            s1 = s2
            s2 = new
            if time &- s0.time > window {
                s0 = s1
                s1 = s2
            }
        } else if s1.time == s0.time, time &- s1.time > window / 4 {
            s1 = new
            s2 = new
        } else if s2.time == s1.time, time &- s2.time > window / 2 {
            s2 = new
        }
    }
}
