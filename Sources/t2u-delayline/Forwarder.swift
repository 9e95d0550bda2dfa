// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Glibc
import T2UDelayLine

/// The thin I/O loop around two `DelayLine`s: frames read from one tap wait in a preallocated
/// ring (no allocation per frame) until their line releases them to the other tap. One thread:
/// pselect on both fds with the earliest deadline as timeout. SIGTERM/SIGINT are blocked except
/// inside pselect, so a signal ends the loop at a clean point (EINTR) without global state.
struct Forwarder {
    static let slotSize = 2048  // an Ethernet frame at MTU 1500 (+ VLAN tag) fits
    static let batch = 64  // frames read per fd per wake-up, so one side cannot starve the other

    private var lines: [DelayLine]
    private let taps: [TapDevice]  // taps[d] receives what line d carries; line 0 is a->b
    private let rings: [UnsafeMutableRawPointer]
    private var lengths: [[Int]]
    private(set) var writeErrors = [0, 0]
    private(set) var truncated = [0, 0]

    init(a: TapDevice, b: TapDevice, aToB: DelayLine.Config, bToA: DelayLine.Config, capacity: Int) {
        lines = [DelayLine(config: aToB, capacity: capacity), DelayLine(config: bToA, capacity: capacity)]
        taps = [a, b]
        rings = (0..<2).map { _ in
            // One spare slot past the ring takes frames read while the ring is full.
            UnsafeMutableRawPointer.allocate(byteCount: (capacity + 1) * Self.slotSize, alignment: 64)
        }
        lengths = [Array(repeating: 0, count: capacity), Array(repeating: 0, count: capacity)]
    }

    /// Runs until SIGTERM or SIGINT.
    mutating func run() {
        var blocked = sigset_t()
        sigemptyset(&blocked)
        sigaddset(&blocked, SIGTERM)
        sigaddset(&blocked, SIGINT)
        sigprocmask(SIG_BLOCK, &blocked, nil)
        signal(SIGTERM) { _ in }
        signal(SIGINT) { _ in }
        var open = sigset_t()
        sigemptyset(&open)
        let fdCount = max(taps[0].fd, taps[1].fd) + 1
        var ready = [false, false]
        while true {
            var now = monotonicNanos()
            for d in 0..<2 { release(line: d, now: now) }
            for d in 0..<2 where ready[d] { now = receive(line: d) }
            var timeout = timespec(tv_sec: 3600, tv_nsec: 0)
            if let next = [lines[0].nextDeadline, lines[1].nextDeadline].compactMap({ $0 }).min() {
                let wait = max(0, next - monotonicNanos())
                timeout = timespec(tv_sec: Int(wait / 1_000_000_000), tv_nsec: Int(wait % 1_000_000_000))
            }
            // pselect, not ppoll (which Glibc's module does not export): nanosecond timeout and
            // the signal mask swapped atomically.
            var readable = fd_set()
            for tap in taps { FileDescriptorSet.insert(tap.fd, into: &readable) }
            if pselect(fdCount, &readable, nil, nil, &timeout, &open) < 0 {
                if errno == EINTR { return }
                ready = [false, false]
                continue
            }
            ready = taps.map { FileDescriptorSet.contains($0.fd, in: readable) }
        }
    }

    /// Frames that line `d` has due go out of the other tap.
    private mutating func release(line d: Int, now: Int64) {
        let out = taps[1 - d].fd
        while let slot = lines[d].pop(now: now) {
            if write(out, rings[d] + slot * Self.slotSize, lengths[d][slot]) < 0 {
                writeErrors[d] += 1
            }
        }
    }

    /// Reads up to `batch` frames from tap `d` straight into the slot its line would give them.
    private mutating func receive(line d: Int) -> Int64 {
        var now = monotonicNanos()
        for _ in 0..<Self.batch {
            let slot = lines[d].nextSlot ?? lines[d].capacity
            let n = read(taps[d].fd, rings[d] + slot * Self.slotSize, Self.slotSize)
            if n <= 0 { break }
            now = monotonicNanos()
            if n == Self.slotSize { truncated[d] += 1 }
            if case .queued(let s) = lines[d].offer(length: n, now: now) {
                lengths[d][s] = n
            }
        }
        return now
    }

    func report() -> String {
        let names = ["a->b", "b->a"]
        return (0..<2).map { d in
            let c = lines[d].counters
            return
                "\(names[d]): frames=\(c.offered) delivered=\(c.delivered) lost=\(c.lost) queue_drops=\(c.queueDrops) overflows=\(c.overflows) write_errors=\(writeErrors[d]) in_flight=\(lines[d].inFlight)"
        }.joined(separator: "\n")
    }
}
