// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore

/// Decides, before any DH, what an initiation with a valid mac1 gets (docs/protocol/handshake.md):
/// - a source that proved its address (valid mac2) is charged to its prefix's bucket and the
///   global one;
/// - any other source is first charged to the unproven bucket (half the global rate): once that
///   is empty the device is under load and answers with a COOKIE_REPLY instead, so spoofed
///   sources (which never see their cookie) can take at most half the handshakes and proven
///   ones always find the other half.
struct HandshakeAdmission {
    enum Decision: Equatable {
        case admit
        case sendCookie([UInt8])
        case rateLimited
    }

    struct Limits {
        /// New handshakes per second for all sources together (each costs four X25519 operations).
        var handshakesPerSecond: Double
        /// New handshakes per second per /24 or /64, with a burst of twice this.
        var perPrefixPerSecond: Double
        /// Prefixes tracked; the least recently seen is forgotten first.
        var prefixTableCapacity: Int
    }

    private let limits: Limits
    private var global: TokenBucket?
    private var unproven: TokenBucket?
    private var prefixes: LRUTable<AddressPrefix, TokenBucket>
    private var cookies: CookieSecret?

    init(limits: Limits) {
        self.limits = limits
        prefixes = LRUTable(capacity: max(1, limits.prefixTableCapacity))
    }

    mutating func decide(
        _ datagram: ByteBuffer, from source: NetAddress, now: Instant, entropy: EntropySource
    ) -> Decision {
        var cookies = self.cookies ?? CookieSecret(entropy: entropy, now: now)
        defer { self.cookies = cookies }
        if !cookies.hasValidMac2(datagram, from: source, now: now, entropy: entropy) {
            let rate = limits.handshakesPerSecond / 2
            var bucket = unproven ?? TokenBucket(rate: rate, burst: rate, now: now)
            let underLoad = !bucket.take(now: now)
            unproven = bucket
            if underLoad { return .sendCookie(cookies.cookie(for: source, now: now, entropy: entropy)) }
        }
        let prefix = AddressPrefix(source)
        let perPrefix = limits.perPrefixPerSecond
        var sourceBucket = prefixes.value(for: prefix) ?? TokenBucket(rate: perPrefix, burst: perPrefix * 2, now: now)
        let sourceAllowed = sourceBucket.take(now: now)
        prefixes.set(sourceBucket, for: prefix)
        guard sourceAllowed else { return .rateLimited }
        let rate = limits.handshakesPerSecond
        var globalBucket = global ?? TokenBucket(rate: rate, burst: rate, now: now)
        defer { global = globalBucket }
        return globalBucket.take(now: now) ? .admit : .rateLimited
    }
}
