// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

extension Connection {
    /// Probes `address` with a small authenticated PATH_CHALLENGE (well under 100 bytes, so a
    /// traversal may send many), re-sent every max(PTO, 100 ms) up to `attempts` times. An
    /// answer emits `.pathValidated` (with the answer's source address); silence emits
    /// `.pathProbeFailed`. Probes do not move the peer and are not congestion-controlled data
    /// (the caller paces them). Established connections only; otherwise nothing happens.
    package func probePath(to address: NetAddress, attempts: Int = 4, now: Instant) {
        lastNow = max(lastNow, now)
        guard state == .established else { return }
        guard pathPolicy.allows(address, established: true) else { return emit(.pathProbeFailed(address)) }
        if let dropped = pathProber.start(address, challenge: entropy.nextUInt64(), attempts: attempts, now: now) {
            emit(.pathProbeFailed(dropped))
        }
    }

    /// Number of `probePath` probes still waiting for an answer.
    package var outstandingPathProbes: Int { pathProber.outstanding }

    /// Sends from now on to `address` (one `probePath` validated; never one the policy excludes). The peer follows when our
    /// newest non-probing packets arrive from the new path. Congestion state and RTT start
    /// afresh (RFC 9000 §9.4: the old path's window and RTT say nothing about the new one);
    /// packets in flight stay tracked, so whatever the old path loses is sent again.
    package func migrate(to address: NetAddress, now: Instant) {
        lastNow = max(lastNow, now)
        guard state == .established, address != peerAddress, pathPolicy.allows(address, established: true) else {
            return
        }
        abandonedAddress = peerAddress
        peerAddress = address
        validatedAddress = address
        amplificationLimit = nil
        pathValidator.cancel()
        recovery.resetForNewPath()
        stats.congestionWindow = recovery.congestionWindow
        // Elicit an ACK soon so the new path gets an RTT sample and the peer sees us there.
        pingPending = true
        emit(.pathChanged(address))
    }

    /// Initiator, while handshaking: the initiation (and its retransmissions) also goes to
    /// `address`, e.g. the server relay that forwards by connection ID, or a LAN candidate
    /// (up to 8 addresses; the first copy goes out at once). The first valid reply,
    /// from whichever address, completes the handshake and becomes the peer address.
    package func sendHandshake(alsoTo address: NetAddress, now: Instant) {
        lastNow = max(lastNow, now)
        guard state == .handshaking, case .initiating(var initiating) = handshake,
            pathPolicy.allows(address, established: false)
        else { return }
        initiating.sendAlso(to: address, peer: peerAddress, now: now)
        handshake = .initiating(initiating)
    }

    /// Whether a packet with these frames only probes a path (RFC 9000 §9.1): such a packet
    /// never moves the peer address.
    static func isProbing(_ frame: Frame) -> Bool {
        switch frame {
        case .padding, .pathChallenge, .pathResponse: return true
        default: return false
        }
    }

    /// Interval of `probePath` retries.
    var pathProbeRetryInterval: Nanos {
        max(recovery.rtt.probeTimeout(maxAckDelay: config.maxAckDelay), .milliseconds(100))
    }

    /// Longest gap between probes while packets wait for an answer (dead-peer rule).
    var maxProbeInterval: Nanos { min(.seconds(1), config.deadPeerTimeout / 4) }
}
