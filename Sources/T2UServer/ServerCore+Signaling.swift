// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import T2UCore

extension ServerCore {
    /// A datagram in clear: first contact, probes and registration. Everything else must come
    /// sealed in a channel (`handleChannel`).
    func handle(_ request: Request, now: Instant) {
        switch request.message {
        case .hello(let id, _):
            guard request.size >= SignalingLimits.minPaddedRequest else { return reject(.unpadded) }
            reply(
                .challenge(
                    requestID: id, cookie: cookieFor(request.source, now: now),
                    serverPublicKey: config.identity.publicKey),
                to: request, verified: false)
        case .probe(let id):
            guard request.size >= SignalingLimits.minPaddedRequest else { return reject(.unpadded) }
            reply(.probeResult(requestID: id, observed: request.source), to: request, verified: false)
        case .probeFromOtherPort(let id):
            // Same answer, from the observation port: netcheck's filtering test. Only asked of the
            // main port (the observation port refuses it: see `receive`).
            guard request.size >= SignalingLimits.minPaddedRequest else { return reject(.unpadded) }
            var fromOther = request
            fromOther.socket = .observation
            reply(.probeResult(requestID: id, observed: request.source), to: fromOther, verified: false)
        case .register(let m):
            handleRegister(m, request: request, now: now)
        case .keepalive, .query, .connect, .introduceAck, .pathReport:
            // A token alone proves nothing: no reply, so a sniffed one buys no oracle either.
            reject(.unsealed)
        case .challenge, .registered, .error, .keepaliveAck, .queryResult, .connectResult, .introduce, .probeResult,
            .search, .searchReply, .relayUnknown, .sealed:
            reject(.unexpectedMessage)
        }
    }

    /// A message that arrived authenticated and fresh in channel `request.channel` (whose record
    /// already follows the source address).
    func handleChannel(_ request: Request, now: Instant) {
        switch request.message {
        case .keepalive(let id, let token, let nat):
            guard var record = verifiedRecord(token: token, request: request, now: now) else { return }
            if nat != .unknown, nat != record.nat {
                record.nat = nat
                registry.upsert(record)
            }
            reply(.keepaliveAck(requestID: id, observed: request.source), to: request, verified: true)
        case .query(let id, let token, let uuid):
            guard verifiedRecord(token: token, request: request, now: now) != nil else { return }
            counters.queries &+= 1
            let result: SignalingMessage.QueryResult
            if let device = registry.lookup(role: .device, uuid: uuid) {
                result = .init(
                    requestID: id, online: true, publicAddress: device.address, publicKey: device.publicKey,
                    extra: device.extra)
            } else {
                result = .init(requestID: id, online: false, publicAddress: nil, publicKey: [], extra: [])
            }
            reply(.queryResult(result), to: request, verified: true)
        case .connect(let m):
            handleConnect(m, request: request, now: now)
        case .introduceAck(_, let token, let sessionID):
            guard let device = verifiedRecord(token: token, request: request, now: now, replyOnFailure: false) else {
                return
            }
            guard let session = sessions[sessionID], session.deviceUUID == device.uuid else {
                return reject(.relayUnknownSession)
            }
            session.introduceAcked = true
            session.nextIntroduceAt = .distantFuture
        case .pathReport(_, let token, let sessionID, let path):
            handlePathReport(token: token, sessionID: sessionID, path: path, request: request, now: now)
        default:
            reject(.unexpectedMessage)
        }
    }

    /// The record of `token` (the request's channel: `receiveSealed` checked that the token
    /// fields equal it and moved the record to the source); otherwise answers `unknownSession`.
    func verifiedRecord(token: UInt64, request: Request, now: Instant, replyOnFailure: Bool = true) -> PresenceRecord? {
        guard request.channel == token, let record = registry.lookup(token: token), record.address == request.source
        else {
            reject(.unknownSession)
            if replyOnFailure {
                reply(.error(requestID: request.message.requestID, code: .unknownSession), to: request, verified: false)
            }
            return nil
        }
        return registry.touch(token: token, address: request.source, now: now)
    }

    private func handleRegister(_ m: SignalingMessage.Register, request: Request, now: Instant) {
        // A client may skip HELLO (no cookie) while such registrations stay within their budget;
        // a device never: its registration moves a binding, so its source must be proven first.
        let cookieless = m.role == .client && m.cookie == SignalingRegistration.noCookie
        guard
            cookieless ? cookielessRegistrations.take(now: now) : verifyCookie(m.cookie, for: request.source, now: now)
        else {
            reject(.badCookie)
            return reply(.error(requestID: m.requestID, code: .badCookie), to: request, verified: false)
        }
        // From here the source has proven its address (it received our CHALLENGE), or is a
        // client's within the cookieless budget.
        if let id = channelByEphemeral[m.ephemeral], let cached = channels[id]?.cachedReply(to: m) {
            // A retransmission (our REGISTERED was lost): the same answer, no second channel.
            counters.signalingReplies &+= 1
            return enqueue(cached, to: request.source, via: request.socket)
        }
        let opened: SignalingRegistration.Responder
        do {
            opened = try SignalingRegistration.Responder(m, server: config.identity)
        } catch .wrongServerKey {
            // Encrypted to another key: the agent pinned another server's `svrkey`.
            reject(.serverKeyRejected)
            return reply(.error(requestID: m.requestID, code: .serverKeyRejected), to: request, verified: false)
        } catch {
            return reject(.registrationForged)
        }
        let payload = opened.payload
        let key = opened.agentStatic
        let existing = registry.lookup(role: m.role, uuid: payload.uuid)
        if m.role == .device {
            let registration = DeviceRegistration(
                uuid: payload.uuid, publicKey: key, certificate: payload.certificate,
                rotation: payload.rotation.map { KeyRotation(oldPublicKey: $0.oldPublicKey, proof: $0.proof) },
                cookie: m.cookie)
            if case .refused(let code) = bindings.admit(registration, server: config.identity, now: now) {
                reject(code == .notEnrolled ? .notEnrolled : .bindingConflict)
                return reply(.error(requestID: m.requestID, code: code), to: request, verified: false)
            }
        } else if let existing, existing.publicKey != key {
            // Client instance IDs are random per process; another key under a live one is a takeover.
            reject(.bindingConflict)
            return reply(.error(requestID: m.requestID, code: .identityConflict), to: request, verified: false)
        }
        if existing == nil && registry.count >= config.maxRegistrations {
            reject(.capacity)
            return reply(.error(requestID: m.requestID, code: .capacity), to: request, verified: false)
        }
        var token: UInt64
        repeat {
            token = entropy.nextUInt64()
        } while token == 0 || channels[token] != nil || registry.lookup(token: token) != nil
        let answer = RegisteredPayload(
            token: token, keepaliveSeconds: config.keepaliveSeconds, observed: request.source)
        guard let replied = try? opened.reply(requestID: m.requestID, answer: answer, entropy: entropy) else {
            return reject(.registrationForged)
        }
        let (registered, sealed) = replied
        if let existing { closeChannel(existing.token) }
        let record = PresenceRecord(
            role: m.role, uuid: payload.uuid, address: request.source, publicKey: key, extra: payload.extra,
            candidates: payload.candidates, lastSeen: now, homeServerID: config.serverID, token: token,
            nat: payload.nat != .unknown ? payload.nat : existing?.nat ?? .unknown)
        registry.upsert(record)
        if let existing, existing.address != record.address { rebind(record) }
        counters.registrations &+= 1
        note(.registered(role: m.role, uuid: payload.uuid, address: request.source, renewed: existing != nil))
        var datagram = ByteBufferAllocator().buffer(capacity: 128)
        registered.write(into: &datagram)
        channels[token] = ServerChannel(
            sealed: sealed, role: m.role, uuid: payload.uuid,
            budget: TokenBucket(rate: config.channelPerSecond, burst: config.channelBurst, now: now),
            register: m, registered: datagram)
        channelByEphemeral[m.ephemeral] = token
        counters.signalingReplies &+= 1
        enqueue(datagram, to: request.source, via: request.socket)
    }

    private func handleConnect(_ m: SignalingMessage.Connect, request: Request, now: Instant) {
        guard let client = verifiedRecord(token: m.token, request: request, now: now) else { return }
        guard let device = registry.lookup(role: .device, uuid: m.uuid) else {
            if let resume = m.resumeDeviceConnectionID, let address = m.resumeDeviceAddress {
                nudgeUnregisteredDevice(resume, at: address, now: now)
            }
            return reply(
                .connectResult(
                    .init(
                        requestID: m.requestID, online: false, sessionID: 0, devicePublicKey: [],
                        deviceCandidates: [], relayAllowed: false)), to: request, verified: true)
        }
        let cid = m.clientConnectionID.rawValue
        if let resume = m.resumeDeviceConnectionID {
            return resumeSession(
                m, deviceCID: resume.rawValue, client: client, device: device, request: request, now: now)
        }
        // A device homed on another server: that server introduces it and we relay through it.
        var peer: (id: String, address: NetAddress, via: NetAddress)?
        if device.homeServerID != config.serverID {
            guard let address = registry.serverAddress(device.homeServerID), let via = config.advertiseAddress else {
                return reply(
                    .connectResult(
                        .init(
                            requestID: m.requestID, online: false, sessionID: 0, devicePublicKey: [],
                            deviceCandidates: [], relayAllowed: false)), to: request, verified: true)
            }
            peer = (device.homeServerID, address, via)
        }
        var sessionID: UInt64
        if let existing = sessionByCID[cid], let session = sessions[existing] {
            // A retransmitted CONNECT: answer with the same session.
            guard session.clientUUID == client.uuid, session.deviceUUID == device.uuid else {
                reject(.malformed)
                return reply(.error(requestID: m.requestID, code: .malformed), to: request, verified: true)
            }
            sessionID = existing
            if session.peerServerID != nil { forwardIntroduction(session) }
        } else {
            guard sessions.count < config.maxSessions else {
                reject(.capacity)
                return reply(.error(requestID: m.requestID, code: .capacity), to: request, verified: true)
            }
            repeat { sessionID = entropy.nextUInt64() } while sessionID == 0 || sessions[sessionID] != nil
            let order = punchOrders.order(client: client.uuid, device: device.uuid)
            let introduce = SignalingMessage.Introduce(
                requestID: newRequestID(), sessionID: sessionID, clientConnectionID: m.clientConnectionID,
                clientPublicAddress: request.source, clientCandidates: m.candidates, relayAllowed: config.relayAllowed,
                clientNAT: m.nat, punchDelay: order.delays().device)
            sessions[sessionID] = Session(
                id: sessionID, clientUUID: client.uuid, deviceUUID: device.uuid, clientAddress: request.source,
                deviceAddress: device.address, clientCID: cid, introduce: introduce, now: now,
                introduceInterval: config.introduceRetransmit,
                relayBudget: TokenBucket(rate: config.relayBytesPerSecond, burst: config.relayBurstBytes, now: now))
            sessionByCID[cid] = sessionID
            counters.connects &+= 1
            sessions[sessionID]?.punchOrder = order
            if order != .together { counters.orderedPunches &+= 1 }
            if let peer, let session = sessions[sessionID] {
                session.deviceAddress = peer.address
                session.peerServerID = peer.id
                session.introduceAcked = true
                session.nextIntroduceAt = .distantFuture
                forwardIntroduction(session)
            } else {
                sendIntroduce(sessionID, now: now)
            }
        }
        replyConnected(m, sessionID: sessionID, device: device, request: request)
    }

    private func replyConnected(
        _ m: SignalingMessage.Connect, sessionID: UInt64, device: PresenceRecord, request: Request
    ) {
        let candidates = Array(
            ([device.address] + device.candidates.filter { $0 != device.address })
                .prefix(SignalingLimits.maxCandidates))
        let delay = sessions[sessionID]?.punchOrder.delays().client ?? .zero
        reply(
            .connectResult(
                .init(
                    requestID: m.requestID, online: true, sessionID: sessionID, devicePublicKey: device.publicKey,
                    deviceCandidates: candidates, relayAllowed: config.relayAllowed, deviceNAT: device.nat,
                    punchDelay: delay)),
            to: request, verified: true)
    }

    /// CONNECT with resume: an established connection whose relay session we lost (restart).
    /// Both connection IDs are known, so the session relays at once and the device needs no
    /// INTRODUCE. The session belongs to the proven client (token); IDs bound to another
    /// session are refused. Devices homed on another server are not resumed here.
    private func resumeSession(
        _ m: SignalingMessage.Connect, deviceCID: UInt64, client: PresenceRecord, device: PresenceRecord,
        request: Request, now: Instant
    ) {
        let cid = m.clientConnectionID.rawValue
        func refuse(_ code: SignalingErrorCode, _ reason: RejectReason) {
            reject(reason)
            reply(.error(requestID: m.requestID, code: code), to: request, verified: true)
        }
        guard config.relayAllowed else { return refuse(.malformed, .relayDisabled) }
        guard device.homeServerID == config.serverID else { return refuse(.deviceOffline, .relayUnknownSession) }
        guard cid != deviceCID else { return refuse(.malformed, .malformed) }
        let byClient = sessionByCID[cid]
        let byDevice = sessionByCID[deviceCID]
        if let existing = byClient ?? byDevice, let session = sessions[existing] {
            // A retransmitted resume (or the original session): only ever the same binding.
            guard byClient == existing, byDevice == existing || (byDevice == nil && session.deviceCID == nil),
                session.clientUUID == client.uuid, session.deviceUUID == device.uuid
            else { return refuse(.malformed, .relayStranger) }
            if session.deviceCID == nil {
                session.deviceCID = deviceCID
                sessionByCID[deviceCID] = existing
            }
            return replyConnected(m, sessionID: existing, device: device, request: request)
        }
        guard byClient == nil, byDevice == nil else { return refuse(.malformed, .relayStranger) }
        guard sessions.count < config.maxSessions else { return refuse(.capacity, .capacity) }
        var sessionID: UInt64
        repeat { sessionID = entropy.nextUInt64() } while sessionID == 0 || sessions[sessionID] != nil
        let introduce = SignalingMessage.Introduce(
            requestID: newRequestID(), sessionID: sessionID, clientConnectionID: m.clientConnectionID,
            clientPublicAddress: request.source, clientCandidates: m.candidates, relayAllowed: config.relayAllowed,
            clientNAT: m.nat)
        let session = Session(
            id: sessionID, clientUUID: client.uuid, deviceUUID: device.uuid, clientAddress: request.source,
            deviceAddress: device.address, clientCID: cid, introduce: introduce, now: now,
            introduceInterval: config.introduceRetransmit,
            relayBudget: TokenBucket(rate: config.relayBytesPerSecond, burst: config.relayBurstBytes, now: now))
        session.deviceCID = deviceCID
        session.introduceAcked = true
        session.nextIntroduceAt = .distantFuture
        sessions[sessionID] = session
        sessionByCID[cid] = sessionID
        sessionByCID[deviceCID] = sessionID
        counters.relayResumes &+= 1
        replyConnected(m, sessionID: sessionID, device: device, request: request)
    }

    /// An agent's address changed (NAT rebinding): its sessions follow it.
    func rebind(_ record: PresenceRecord) {
        for session in sessions.values {
            if record.role == .device, session.deviceUUID == record.uuid, session.peerServerID == nil {
                session.deviceAddress = record.address
            }
            if record.role == .client, session.clientUUID == record.uuid { session.clientAddress = record.address }
        }
    }
}
