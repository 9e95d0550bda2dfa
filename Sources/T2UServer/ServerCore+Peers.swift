// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import T2UCore

extension ServerCore {
    /// The next introduction for a peer server (the shell sends it through the shared registry).
    package func pollPeerIntroduction() -> PeerIntroduction? {
        peerOutbox.isEmpty ? nil : peerOutbox.removeFirst()
    }

    /// A peer server's CONNECT for one of our devices: introduce the device (retransmitted until
    /// acknowledged, as for local clients) and relay between it and the peer server.
    package func receivePeerIntroduction(_ intro: PeerIntroduction, now: Instant) {
        guard intro.targetServerID == config.serverID,
            let device = registry.lookup(role: .device, uuid: intro.deviceUUID),
            device.homeServerID == config.serverID
        else { return reject(.peerIntroductionRejected) }
        counters.peerIntroductionsReceived &+= 1
        if let existing = sessions[intro.sessionID] {
            // A repeated introduction (the client retransmitted its CONNECT): nothing new.
            guard existing.clientCID == intro.clientConnectionID else { return reject(.peerIntroductionRejected) }
            return
        }
        guard sessionByCID[intro.clientConnectionID] == nil, sessions.count < config.maxSessions else {
            return reject(.peerIntroductionRejected)
        }
        let relayAllowed = intro.relayAllowed && config.relayAllowed
        let introduce = SignalingMessage.Introduce(
            requestID: newRequestID(), sessionID: intro.sessionID,
            clientConnectionID: ConnectionID(rawValue: intro.clientConnectionID),
            clientPublicAddress: intro.clientPublicAddress,
            clientCandidates: Array(intro.clientCandidates.prefix(SignalingLimits.maxCandidates)),
            relayAllowed: relayAllowed)
        sessions[intro.sessionID] = Session(
            id: intro.sessionID, clientUUID: intro.clientUUID, deviceUUID: device.uuid, clientAddress: intro.relayVia,
            deviceAddress: device.address, clientCID: intro.clientConnectionID, introduce: introduce, now: now,
            introduceInterval: config.introduceRetransmit,
            relayBudget: TokenBucket(rate: config.relayBytesPerSecond, burst: config.relayBurstBytes, now: now))
        sessionByCID[intro.clientConnectionID] = intro.sessionID
        sendIntroduce(intro.sessionID, now: now)
    }

    func forwardIntroduction(_ session: Session) {
        guard let target = session.peerServerID, let via = config.advertiseAddress else { return }
        counters.peerIntroductionsSent &+= 1
        peerOutbox.append(
            PeerIntroduction(
                targetServerID: target, originServerID: config.serverID, sessionID: session.id,
                deviceUUID: session.deviceUUID,
                clientUUID: session.clientUUID, clientConnectionID: session.clientCID,
                clientPublicAddress: session.introduce.clientPublicAddress,
                clientCandidates: session.introduce.clientCandidates,
                relayVia: via, relayAllowed: session.introduce.relayAllowed))
    }
}
