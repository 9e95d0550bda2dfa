// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// Path failure inside one connection (QUIC-style, from unanswered probes, not the idle
/// timeout): when the current path leaves ack-eliciting packets unanswered for a few PTOs, the
/// connection moves to its fallback (the server relay) at once, streams intact (what was in
/// flight is sent again there). The failed path is then probed with PATH_CHALLENGEs until it
/// answers, and the connection moves back to it. The dead-peer rule still spans both paths.
extension Connection {
    /// Where to go when the current path stops answering (nil: nowhere; never an address the
    /// `pathPolicy` excludes). The owner sets it to the relay.
    package func setFallback(_ address: NetAddress?) {
        fallbackAddress = address.flatMap { pathPolicy.allows($0, established: true) ? $0 : nil }
    }

    /// The path that failed and is being probed to come back to, if any.
    package var failedPath: NetAddress? { failedPathAddress }

    /// Silence on a path after which it counts as failed: three PTOs (no backoff), at least
    /// `minPathFailureTimeout` (a loss burst is not a failure), at most `maxPathFailureTimeout`.
    var pathFailureTimeout: Nanos {
        let ptos = recovery.rtt.probeTimeout(maxAckDelay: config.maxAckDelay) * 3
        return min(max(ptos, config.minPathFailureTimeout), config.maxPathFailureTimeout)
    }

    /// When the current path counts as failed (moving to the fallback), or, right after a
    /// failover that nothing answered yet, when the peer counts as gone: silence on both paths.
    var pathFailureDeadline: Instant? {
        guard let fallback = fallbackAddress, let since = unansweredSince else { return nil }
        if peerAddress != fallback { return since + pathFailureTimeout }
        guard let failedOverAt, since <= failedOverAt else { return nil }
        return failedOverAt + pathFailureTimeout
    }

    /// A receiver that only sends ACKs leaves nothing unanswered, so a dead path would show only
    /// at the next keepalive. When a peer that was sending falls silent for a PTO, one PING asks
    /// (once per silence: an idle link costs nothing); unanswered, it starts the failure clock.
    var silenceProbeDeadline: Instant? {
        guard peerWasSending, fallbackAddress != nil, peerAddress != fallbackAddress, unansweredSince == nil else {
            return nil
        }
        return lastReceiveTime + recovery.rtt.probeTimeout(maxAckDelay: config.maxAckDelay)
    }

    /// From `handleTimeout`: the PING of `silenceProbeDeadline`.
    func probeSilenceIfDue(now: Instant) {
        guard let deadline = silenceProbeDeadline, now >= deadline else { return }
        peerWasSending = false
        pingPending = true
    }

    /// From `handleTimeout`: moves to the fallback when the current path went silent; closes
    /// (`.peerUnreachable`) when the fallback stayed silent as long too.
    func failOverIfPathFailed(now: Instant) {
        guard let deadline = pathFailureDeadline, now >= deadline, let fallback = fallbackAddress else { return }
        if peerAddress == fallback { return enterClosed(.peerUnreachable) }
        let failed = peerAddress
        migrate(to: fallback, now: now)
        guard peerAddress == fallback else { return }
        failedOverAt = now
        failedPathAddress = failed
        stats.pathFailovers &+= 1
        probeFailedPath(now: now)
    }

    /// One more round of challenges to the failed path (its own probes, not reported to the owner).
    func probeFailedPath(now: Instant) {
        guard let failed = failedPathAddress else { return }
        _ = pathProber.start(failed, challenge: entropy.nextUInt64(), attempts: 4, now: now)
    }

    /// A probe answered: the failed path is back, so the connection returns to it. Returns
    /// whether the answer was for the failed path (then not reported to the owner).
    func failedPathAnswered(_ address: NetAddress, now: Instant) -> Bool {
        guard address == failedPathAddress else { return false }
        failedPathAddress = nil
        if peerAddress == fallbackAddress { migrate(to: address, now: now) }
        return true
    }

    /// A probe's sends ran out, found by a timer or while sending (both, so probing the failed
    /// path never stops on which came first): the failed path gets another round while we are
    /// on the fallback; any other probe is reported to the owner.
    func pathProbeExhausted(_ address: NetAddress, now: Instant) {
        guard address == failedPathAddress else { return emit(.pathProbeFailed(address)) }
        if peerAddress == fallbackAddress { probeFailedPath(now: now) } else { failedPathAddress = nil }
    }
}
