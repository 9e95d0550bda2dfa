// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import T2UCore

extension ServerCore {
    /// Forwards a transport datagram between the two parties of a session, unchanged. Routing:
    /// handshake initiation/response/rejection/cookie reply by the initiator (client) CID at offset 1; the
    /// response also teaches us the device's CID (offset 9); data packets by the destination
    /// CID at offset 2. Only the session's two registered addresses may use it.
    func relay(_ datagram: ByteBuffer, type: PacketType, from source: NetAddress, now: Instant) {
        guard config.relayAllowed else { return reject(.relayDisabled) }
        let start = datagram.readerIndex
        let cidOffset = (type == .dataKeyPhase0 || type == .dataKeyPhase1) ? 2 : 1
        guard let cid = datagram.getInteger(at: start + cidOffset, as: UInt64.self) else { return reject(.malformed) }
        guard let id = sessionByCID[cid], let session = sessions[id] else {
            reject(.relayUnknownSession)
            return tellRelayUnknown(cid, carriedBy: datagram, to: source, now: now)
        }

        let destination: NetAddress
        switch type {
        case .handshakeInitiation:
            guard cid == session.clientCID else { return reject(.relayStranger) }
            guard source == session.clientAddress else {
                return strangerOnSession(cid, carriedBy: datagram, from: source, now: now)
            }
            destination = session.deviceAddress
        case .handshakeResponse, .handshakeRejection, .cookieReply:
            guard cid == session.clientCID, source == session.deviceAddress else { return reject(.relayStranger) }
            if type == .handshakeResponse {
                guard let responderCID = datagram.getInteger(at: start + 9, as: UInt64.self) else {
                    return reject(.malformed)
                }
                if session.deviceCID != responderCID {
                    guard sessionByCID[responderCID] == nil else { return reject(.relayStranger) }
                    if let old = session.deviceCID { sessionByCID[old] = nil }
                    session.deviceCID = responderCID
                    sessionByCID[responderCID] = id
                }
            }
            destination = session.clientAddress
        case .dataKeyPhase0, .dataKeyPhase1:
            if cid == session.clientCID && source == session.deviceAddress {
                destination = session.clientAddress
            } else if cid == session.deviceCID && source == session.clientAddress {
                destination = session.deviceAddress
            } else if source != session.clientAddress && source != session.deviceAddress {
                return strangerOnSession(cid, carriedBy: datagram, from: source, now: now)
            } else {
                return reject(.relayStranger)
            }
        }
        guard session.relayBudget.take(Double(datagram.readableBytes), now: now) else {
            return reject(.relayRateLimited)
        }
        session.lastActivity = now
        if !session.relayed {
            note(.relayStarted(session: session.id, client: session.clientUUID, device: session.deviceUUID))
            session.relayed = true
        }
        session.relayedBytes &+= UInt64(datagram.readableBytes)
        counters.relayedPackets &+= 1
        counters.relayedBytes &+= UInt64(datagram.readableBytes)
        enqueue(datagram, to: destination, via: .main)
    }

    /// RELAY_UNKNOWN to the sender of a packet for a session we do not have (after a restart
    /// its agents resume). Never larger than that packet and rate-limited per source (its own
    /// budget, so its sender can still register), so a spoofed source gains no amplification.
    /// A resume for a device not registered (yet): an idle device may not have noticed our
    /// restart, so it gets a RELAY_UNKNOWN (13 bytes, smaller than the CONNECT that asked) at
    /// the address the client names, and re-registers. Rate-limited per destination, so no
    /// client can aim more than a trickle at anyone.
    func nudgeUnregisteredDevice(_ deviceCID: ConnectionID, at address: NetAddress, now: Instant) {
        guard config.relayAllowed else { return }
        guard relayUnknownLimiter.allow(address, now: now) else { return reject(.rateLimited) }
        var nudge = ByteBuffer()
        SignalingMessage.relayUnknown(requestID: 0, connectionID: deviceCID).write(into: &nudge)
        counters.relayUnknownSent &+= 1
        enqueue(nudge, to: address, via: .main)
    }

    /// A live session's ID from an address the session does not know: most often one of its
    /// parties after its address changed (an interface went away, its NAT rebound), which cannot
    /// be believed on its word. It is told RELAY_UNKNOWN as if the session were lost, so the real
    /// party resumes over its sealed channel (CONNECT resume); that moves its record, and with it
    /// the session, to the new address. Anyone else learns nothing it did not send.
    private func strangerOnSession(
        _ cid: UInt64, carriedBy datagram: ByteBuffer, from source: NetAddress,
        now: Instant
    ) {
        reject(.relayStranger)
        tellRelayUnknown(cid, carriedBy: datagram, to: source, now: now)
    }

    private func tellRelayUnknown(_ cid: UInt64, carriedBy datagram: ByteBuffer, to source: NetAddress, now: Instant) {
        var reply = ByteBuffer()
        SignalingMessage.relayUnknown(requestID: 0, connectionID: ConnectionID(rawValue: cid)).write(into: &reply)
        guard reply.readableBytes <= datagram.readableBytes else { return reject(.amplification) }
        guard relayUnknownLimiter.allow(source, now: now) else { return reject(.rateLimited) }
        counters.relayUnknownSent &+= 1
        enqueue(reply, to: source, via: .main)
    }
}
