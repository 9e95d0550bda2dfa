// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore

/// The device's decision on one datagram to its LAN discovery port (docs/SECURITY.md §4).
/// A SEARCH is answered only when it is padded (`SignalingLimits.minSearchRequest`), asks for
/// every device or for ours, comes from a unicast host on one of our own subnets, fits the
/// source's and the global rate, and the reply is not larger than the request. Anything else
/// is dropped and counted, so discovery is never a reflector. Sans-IO: the shell passes the
/// datagram, its source, our subnets and the clock.
package struct DiscoveryGate: Sendable {
    package struct Config: Sendable {
        /// Replies per source IP: `t2u search` sends one SEARCH per run.
        package var perSourceRate = 2.0
        package var perSourceBurst = 5.0
        /// Replies per second in all (bounds a flood from many spoofed LAN sources).
        package var globalRate = 50.0
        package var globalBurst = 100.0
        /// Source IPs remembered (`TokenBucketTable`).
        package var sources = 256

        package init() {}
    }

    package enum Refusal: String, Hashable, Sendable, CaseIterable {
        case malformed, notSearch, unpadded, otherUUID, offSubnet, rateLimited, replyTooLarge
    }

    package enum Outcome: Equatable, Sendable {
        case reply(ByteBuffer)
        case drop(Refusal)
    }

    package let uuid: String
    package let config: Config
    package private(set) var refused: [Refusal: Int] = [:]
    package private(set) var answered = 0
    private var perSource: TokenBucketTable<NetAddress.Host>
    private var global: TokenBucket

    package init(uuid: String, config: Config = .init(), now: Instant) {
        self.uuid = uuid
        self.config = config
        perSource = TokenBucketTable(rate: config.perSourceRate, burst: config.perSourceBurst, capacity: config.sources)
        global = TokenBucket(rate: config.globalRate, burst: config.globalBurst, now: now)
    }

    /// - Parameter replyAddress: where clients on that LAN reach our agent socket (asked only
    ///   for a reply that will go out).
    package mutating func handle(
        _ datagram: ByteBuffer, from source: NetAddress, subnets: [LocalSubnet],
        replyAddress: () -> NetAddress, now: Instant
    ) -> Outcome {
        let outcome = decide(datagram, from: source, subnets: subnets, replyAddress: replyAddress, now: now)
        switch outcome {
        case .reply: answered += 1
        case .drop(let refusal): refused[refusal, default: 0] += 1
        }
        return outcome
    }

    private mutating func decide(
        _ datagram: ByteBuffer, from source: NetAddress, subnets: [LocalSubnet],
        replyAddress: () -> NetAddress, now: Instant
    ) -> Outcome {
        guard datagram.readableBytes >= SignalingLimits.minSearchRequest else {
            return .drop(
                datagram.getInteger(at: datagram.readerIndex, as: UInt8.self) == SignalingMessageType.search.rawValue
                    ? .unpadded : .notSearch)
        }
        guard let message = try? SignalingMessage.parse(datagram) else { return .drop(.malformed) }
        guard case .search(let requestID, let wanted) = message else { return .drop(.notSearch) }
        if let wanted, wanted != uuid { return .drop(.otherUUID) }
        guard subnets.containsUnicast(source.host) else { return .drop(.offSubnet) }
        guard perSource.take(source.host, now: now), global.take(now: now) else { return .drop(.rateLimited) }
        var reply = ByteBuffer()
        SignalingMessage.searchReply(requestID: requestID, uuid: uuid, address: replyAddress()).write(into: &reply)
        guard reply.readableBytes <= datagram.readableBytes else { return .drop(.replyTooLarge) }
        return .reply(reply)
    }
}
