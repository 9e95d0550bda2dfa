// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

extension Connection {
    /// When `handleTimeout` (or `pollTransmit`) must next be called: loss detection, delayed
    /// ACK, pacing, keepalive, idle, path validation. nil when closed.
    package func nextDeadline() -> Instant? {
        switch state {
        case .closed:
            return nil
        case .handshaking:
            let expiry = createdAt + config.handshakeTimeout
            guard case .initiating(let initiating) = handshake else { return expiry }
            if !initiating.alsoPending.isEmpty { return lastNow }
            return min(initiating.retransmitAt, expiry)
        case .closing:
            return closeFramePending != nil ? lastNow : drainUntil
        case .established:
            break
        }
        if handshake.replyPending || !pathResponsesPending.isEmpty { return lastNow }
        if peerAmplificationBlocked {
            // Only path validation may go to the unvalidated address now: wait for it (or its
            // expiry), for the peer, or for the idle and dead-peer rules.
            var deadline = lastReceiveTime + idleTimeout
            let validation = challengeBlockedByAmplification ? pathValidator.attempt?.deadline : pathValidator.deadline
            if let validation { deadline = min(deadline, validation) }
            if let probe = pathProber.deadline() { deadline = min(deadline, probe) }
            if let since = unansweredSince { deadline = min(deadline, since + config.deadPeerTimeout) }
            if let failure = pathFailureDeadline { deadline = min(deadline, failure) }
            return deadline
        }
        var deadline = min(lastReceiveTime + idleTimeout, lastSendTime + config.keepaliveInterval)
        if hasControlFramesPending { return lastNow }
        if let ack = ackTracker.ackDeadline() { deadline = min(deadline, ack) }
        if let loss = recovery.lossDetectionDeadline() { deadline = min(deadline, loss) }
        if let path = pathValidator.deadline { deadline = min(deadline, path) }
        if let probe = pathProber.deadline() { deadline = min(deadline, probe) }
        if let since = unansweredSince {
            deadline = min(deadline, since + config.deadPeerTimeout, lastSendTime + maxProbeInterval)
        }
        if let failure = pathFailureDeadline { deadline = min(deadline, failure) }
        if let silence = silenceProbeDeadline { deadline = min(deadline, silence) }
        if !scheduler.isEmpty || probesPending > 0 {
            if probesPending > 0 { return lastNow }
            if recovery.congestionAllowance() >= config.maxDatagramSize {
                deadline = min(deadline, recovery.pacingDeadline(now: lastNow, size: config.maxDatagramSize))
            }
        }
        return deadline
    }

    package func handleTimeout(now: Instant) {
        lastNow = max(lastNow, now)
        switch state {
        case .closed:
            return
        case .handshaking:
            if now >= createdAt + config.handshakeTimeout { enterClosed(.handshakeTimeout) }
        case .closing:
            // Drained: the close was reported when closing began.
            if let drain = drainUntil, now >= drain { discardState() }
        case .established:
            if now >= lastReceiveTime + idleTimeout {
                enterClosed(.idleTimeout)
                return
            }
            if let since = unansweredSince, now >= since + config.deadPeerTimeout {
                enterClosed(.peerUnreachable)
                return
            }
            failOverIfPathFailed(now: now)
            if state != .established { return }
            probeSilenceIfDue(now: now)
            if let loss = recovery.lossDetectionDeadline(), loss <= now {
                let (lost, probes) = recovery.onLossDetectionTimeout(now: now)
                onPacketsLost(lost)
                probesPending = max(probesPending, probes)
                for payload in recovery.oldestInFlightPayloads(limit: probes) { sendAgainInProbe(payload) }
            }
            if now >= lastSendTime + config.keepaliveInterval { pingPending = true }
            // Waiting for an answer: probe at least every `maxProbeInterval` however far the
            // PTO backed off, so a live peer behind a lossy path gets a chance to answer
            // before the dead-peer rule fires.
            if unansweredSince != nil, now >= lastSendTime + maxProbeInterval { probesPending = max(probesPending, 1) }
            for failed in pathProber.expire(now: now) { pathProbeExhausted(failed, now: now) }
            if let failed = pathValidator.expire(now: now), peerAddress == failed {
                // The new address never answered: go back to the last one that did.
                peerAddress = validatedAddress
                amplificationLimit = nil
            }
        }
    }
}
