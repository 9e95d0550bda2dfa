// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// Validates a new peer address before traffic moves there for good (NAT rebinding, relay ->
/// direct). A PATH_CHALLENGE goes to the candidate; the matching PATH_RESPONSE from it proves
/// the peer is reachable there and not just a spoofed source address.
struct PathValidator: Sendable {
    struct Attempt: Sendable {
        var address: NetAddress
        var challenge: UInt64
        var deadline: Instant
        var nextSend: Instant
        var sends: Int
    }

    private(set) var attempt: Attempt?
    static let maxChallenges = 4

    /// Starts (or keeps) validating `address`.
    mutating func start(address: NetAddress, challenge: UInt64, now: Instant, timeout: Nanos) {
        if let current = attempt, current.address == address { return }
        attempt = Attempt(address: address, challenge: challenge, deadline: now + timeout, nextSend: now, sends: 0)
    }

    /// A challenge to send now, if one is due.
    mutating func challengeToSend(now: Instant, retryInterval: Nanos) -> (NetAddress, UInt64)? {
        guard var current = attempt, current.nextSend <= now, current.sends < Self.maxChallenges else { return nil }
        current.sends += 1
        current.nextSend = now + retryInterval
        attempt = current
        return (current.address, current.challenge)
    }

    /// True when `value` from `address` completes the validation.
    mutating func onResponse(_ value: UInt64, from address: NetAddress) -> Bool {
        guard let current = attempt, current.challenge == value, current.address == address else { return false }
        attempt = nil
        return true
    }

    mutating func cancel() { attempt = nil }

    /// The attempt expired: returns its address so the caller can fall back.
    mutating func expire(now: Instant) -> NetAddress? {
        guard let current = attempt, current.deadline <= now else { return nil }
        attempt = nil
        return current.address
    }

    var deadline: Instant? {
        guard let current = attempt else { return nil }
        return current.sends < Self.maxChallenges ? min(current.nextSend, current.deadline) : current.deadline
    }
}
