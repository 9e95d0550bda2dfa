// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import T2UCore

extension ServerCore {
    /// SEALED from an agent: the channel's budget (not the source limiter: a live channel is
    /// never locked out by a flood), the replay window before decrypting, the tag, then the
    /// message. Only such a packet moves a record to a new address (roaming, as WireGuard).
    func receiveSealed(_ datagram: ByteBuffer, from source: NetAddress, now: Instant) {
        guard case .sealed(let sealed)? = try? SignalingMessage.parse(datagram) else { return reject(.malformed) }
        guard let channel = channels[sealed.channel] else {
            // Unknown (expired, or we restarted): tell the agent to register again, in fewer bytes
            // than it sent, named by the channel's low 32 bits (it accepts no other bare error).
            guard limiter.allow(source, now: now) else { return reject(.rateLimited) }
            reject(.unknownSession)
            let request = Request(message: .sealed(sealed), source: source, socket: .main, size: datagram.readableBytes)
            return reply(
                .error(requestID: UInt32(truncatingIfNeeded: sealed.channel), code: .unknownSession), to: request,
                verified: false)
        }
        guard channel.budget.take(now: now) else { return reject(.channelRateLimited) }
        let message: SignalingMessage
        do {
            message = try channel.sealed.open(sealed)
        } catch .replayed {
            return reject(.sealedReplayed)
        } catch .authenticationFailed {
            return reject(.sealedForged)
        } catch {
            return reject(.malformed)
        }
        if channel.awaitsConfirmation {
            // The agent has our REGISTERED: no retransmission to answer any more.
            if channelByEphemeral[channel.registerEphemeral] == sealed.channel {
                channelByEphemeral[channel.registerEphemeral] = nil
            }
            channel.agentConfirmed()
        }
        guard Self.token(of: message).map({ $0 == sealed.channel }) ?? true else { return reject(.malformed) }
        guard let record = registry.lookup(token: sealed.channel) else {
            closeChannel(sealed.channel)
            return reject(.unknownSession)
        }
        if record.address != source, let moved = registry.touch(token: sealed.channel, address: source, now: now) {
            rebind(moved)
        }
        handleChannel(
            Request(
                message: message, source: source, socket: .main, size: datagram.readableBytes, channel: sealed.channel),
            now: now)
    }

    /// The token field of an agent's channel message, which must name its own channel.
    static func token(of message: SignalingMessage) -> UInt64? {
        switch message {
        case .keepalive(_, let token, _), .query(_, let token, _), .introduceAck(_, let token, _),
            .pathReport(_, let token, _, _):
            return token
        case .connect(let m):
            return m.token
        default:
            return nil
        }
    }
}
