// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// Probes of candidate paths asked for by the owner (`Connection.probePath`): many small
/// PATH_CHALLENGEs to many addresses at once (NAT traversal sprays hundreds), each re-sent a
/// few times, independent of the rebinding `PathValidator`. Outstanding probes are bounded;
/// the oldest is dropped (and reported failed) when the bound is reached.
struct PathProber: Sendable {
    struct Probe: Sendable {
        var challenge: UInt64
        var sendsLeft: Int
        var due: Instant
    }

    static let maxOutstanding = 2048

    /// FIFO of (address, challenge); entries whose probe changed or ended are skipped lazily.
    struct Queue: Sendable {
        private var entries: [(address: NetAddress, challenge: UInt64)] = []
        private var head = 0
        var first: (address: NetAddress, challenge: UInt64)? { head < entries.count ? entries[head] : nil }
        mutating func append(_ address: NetAddress, _ challenge: UInt64) { entries.append((address, challenge)) }
        mutating func removeFirst() {
            head += 1
            if head == entries.count {
                entries.removeAll(keepingCapacity: true)
                head = 0
            } else if head >= 1024, head * 2 >= entries.count {
                entries.removeFirst(head)
                head = 0
            }
        }
        mutating func removeAll() {
            entries.removeAll()
            head = 0
        }
    }

    private var probes: [NetAddress: Probe] = [:]
    private var byChallenge: [UInt64: NetAddress] = [:]
    /// Probes not sent yet (due at once), in request order.
    private var fresh = Queue()
    /// Probes sent at least once, by due time (one retry interval for all, so FIFO order is
    /// (nearly) due order).
    private var retries = Queue()
    /// Addresses already reported validated (a response is reported once per address).
    private var reported: Set<NetAddress> = []

    var isEmpty: Bool { probes.isEmpty }
    var outstanding: Int { probes.count }

    /// Starts probing `address` (`attempts` sends). Returns an address dropped to keep the bound.
    mutating func start(_ address: NetAddress, challenge: UInt64, attempts: Int, now: Instant) -> NetAddress? {
        reported.remove(address)
        if let old = probes[address] { byChallenge[old.challenge] = nil }
        var evicted: NetAddress?
        if probes[address] == nil, probes.count >= Self.maxOutstanding, let oldest = popOldest() {
            evicted = oldest
        }
        probes[address] = Probe(challenge: challenge, sendsLeft: max(1, attempts), due: now)
        byChallenge[challenge] = address
        fresh.append(address, challenge)
        return evicted
    }

    /// The next challenge to send now, or a probe whose sends are exhausted (`failed`).
    enum Due: Equatable {
        case send(NetAddress, UInt64)
        case failed(NetAddress)
    }

    mutating func nextDue(now: Instant, retryInterval: Nanos) -> Due? {
        // Asked on every other data packet: nothing to do in the usual case of no probes.
        guard !probes.isEmpty else { return nil }
        for fromRetries in [false, true] {
            while let entry = fromRetries ? retries.first : fresh.first {
                guard var probe = live(entry) else {
                    pop(fromRetries)
                    continue
                }
                guard probe.due <= now else { break }
                pop(fromRetries)
                if probe.sendsLeft == 0 {
                    remove(entry.address)
                    return .failed(entry.address)
                }
                probe.sendsLeft -= 1
                probe.due = now + retryInterval
                probes[entry.address] = probe
                retries.append(entry.address, entry.challenge)
                return .send(entry.address, entry.challenge)
            }
        }
        return nil
    }

    private mutating func pop(_ fromRetries: Bool) {
        if fromRetries { retries.removeFirst() } else { fresh.removeFirst() }
    }

    private func live(_ entry: (address: NetAddress, challenge: UInt64)) -> Probe? {
        guard let probe = probes[entry.address], probe.challenge == entry.challenge else { return nil }
        return probe
    }

    /// Probes whose last send went unanswered for a retry interval (front of the retry queue).
    mutating func expire(now: Instant) -> [NetAddress] {
        var failed: [NetAddress] = []
        while let entry = retries.first {
            guard let probe = live(entry) else {
                retries.removeFirst()
                continue
            }
            guard probe.due <= now, probe.sendsLeft == 0 else { break }
            retries.removeFirst()
            remove(entry.address)
            failed.append(entry.address)
        }
        return failed
    }

    /// A PATH_RESPONSE: returns the address to report validated (the response's source), once.
    mutating func onResponse(_ value: UInt64, from address: NetAddress) -> NetAddress? {
        guard let probed = byChallenge[value] else { return nil }
        remove(probed)
        guard !reported.contains(address) else { return nil }
        if reported.count >= Self.maxOutstanding { reported.removeAll() }
        reported.insert(address)
        return address
    }

    /// When `nextDue` has something (skips stale queue fronts).
    mutating func deadline() -> Instant? {
        while let entry = fresh.first, live(entry) == nil { fresh.removeFirst() }
        while let entry = retries.first, live(entry) == nil { retries.removeFirst() }
        let a = fresh.first.flatMap(live)?.due
        let b = retries.first.flatMap(live)?.due
        switch (a, b) {
        case (let a?, let b?): return min(a, b)
        case (let a?, nil): return a
        case (nil, let b?): return b
        case (nil, nil): return nil
        }
    }

    mutating func cancelAll() {
        probes.removeAll()
        byChallenge.removeAll()
        fresh.removeAll()
        retries.removeAll()
    }

    private mutating func remove(_ address: NetAddress) {
        guard let probe = probes.removeValue(forKey: address) else { return }
        byChallenge[probe.challenge] = nil
        if probes.isEmpty {
            fresh.removeAll()
            retries.removeAll()
        }
    }

    /// Drops the probe that has waited longest (retries are older than fresh ones).
    private mutating func popOldest() -> NetAddress? {
        for pass in 0..<2 {
            while let entry = pass == 0 ? retries.first : fresh.first {
                if pass == 0 { retries.removeFirst() } else { fresh.removeFirst() }
                if live(entry) != nil {
                    remove(entry.address)
                    return entry.address
                }
            }
        }
        return nil
    }
}
