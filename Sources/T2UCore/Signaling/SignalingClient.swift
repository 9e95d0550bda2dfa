// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore

/// Sans-IO client side of the signaling protocol, shared by the device agent and the client SDK:
/// HELLO -> CHALLENGE -> REGISTER -> REGISTERED (a Noise IK handshake with the server's key,
/// `SignalingRegistration`), then keepalives, queries, connects and (device) introductions sealed
/// in the registration's channel (`SealedChannel`); probes stay in clear. Every request is retransmitted with exponential backoff; a session
/// the server forgot (`unknownSession`, restart) or silent keepalives lead to a new registration.
/// Not thread-safe: one owner drives it, as with `Connection`.
package final class SignalingClient {
    package enum Status: Equatable, Sendable {
        case connecting
        case registered
        /// The server's key is not the pinned one, or the server could not open our REGISTER
        /// (`t2u_status` -2). Retries continue slowly.
        case keyRejected
    }

    package private(set) var status: Status = .connecting
    /// Our address as the server's main port last saw it.
    package private(set) var observedAddress: NetAddress?
    package private(set) var config: SignalingClientConfig
    /// Datagrams from addresses other than the server, or that do not parse.
    package private(set) var ignoredDatagrams: UInt64 = 0
    /// Times registration moved to the next server of the list.
    package private(set) var failovers: UInt64 = 0
    /// Our NAT behaviour (`config.classifiesNAT`), sent in REGISTER, KEEPALIVE and CONNECT.
    package private(set) var nat: NATBehavior = .unknown
    /// Our own socket addresses (LAN address + bound port): the server seeing one of them means
    /// no NAT. Defaults to the registered candidates.
    package var localAddresses: [NetAddress]

    private enum Phase {
        case hello
        case registering(SignalingRegistration.Initiator)
        case registered(token: UInt64)
    }

    private enum RequestKind {
        case query(uuid: String)
        case connect(
            uuid: String, cid: ConnectionID, candidates: [NetAddress], resume: ConnectionID?, resumeAddress: NetAddress?
        )
        case probe
        /// The probe behind `nat` (no event of its own).
        case natProbe
    }

    private struct Retry {
        var requestID: UInt32
        var nextSendAt: Instant
        var interval: Nanos
        var sends = 0
    }

    private struct PendingRequest {
        var kind: RequestKind
        var retry: Retry
        var deadline: Instant

        var isNATProbe: Bool {
            if case .natProbe = kind { true } else { false }
        }
    }

    private let entropy: EntropySource
    private var phase: Phase = .hello
    /// The registration's keys; set exactly while `phase` is `.registered`.
    private var channel: SealedChannel?
    /// `.unauthenticatedServer` goes out once.
    private var warnedUnpinned = false
    /// The HELLO/REGISTER exchange in flight, or the keepalive when registered.
    private var exchange: Retry
    private var keepaliveInterval: Nanos
    private var keepaliveDue: Instant?
    private var requests: [UInt32: PendingRequest] = [:]
    private var outbox: [(SignalingMessage, NetAddress)] = []
    /// The datagram `pollTransmit` returned last is a request the server answers (HELLO,
    /// REGISTER, keepalive, query, CONNECT, probe), not a one-way report or acknowledgement: only
    /// such a datagram left unanswered says UDP to the server is lost.
    package private(set) var lastTransmitAwaitsAnswer = false
    private var events: [SignalingClientEvent] = []
    private var eventHead = 0
    /// Introductions already reported, with the time seen (re-sent INTRODUCEs are only acked).
    private var seenSessions: [UInt64: Instant] = [:]
    private var nextRequestID: UInt32
    /// When the current HELLO exchange began and whether the server answered since: a server
    /// that never answers is reported (`.serverSilent`) after `config.failoverAfterSends`
    /// tries, then after twice as many each time, instead of looking like a failed P2P link.
    private var helloStartedAt = Instant.zero
    private var heardSinceHello = false
    private var nextSilenceReport = 1
    /// While our NAT is being measured after a registration, CONNECTs wait (at most one
    /// retransmission interval): a CONNECT carries our NAT behaviour, and the device plans its
    /// traversal from it (an unknown NAT rules out birthday punching, so a cone x symmetric pair
    /// would settle on the relay).
    private var connectsHeldUntil: Instant?
    /// The NAT probe's answer when it came before REGISTERED (the probe goes out with HELLO):
    /// classified as soon as the registration says what the main port looks like.
    private var earlyObservation: NetAddress?
    /// The server refused a REGISTER without cookie: every registration starts with HELLO.
    private var cookieRefused = false

    package init(
        config: SignalingClientConfig, entropy: EntropySource, now: Instant
    ) throws(SignalingClientConfig.Invalid) {
        try config.validate()
        self.config = config
        self.entropy = entropy
        self.nextRequestID = UInt32(truncatingIfNeeded: entropy.nextUInt64())
        self.keepaliveInterval = config.maxKeepaliveInterval
        self.exchange = Retry(requestID: 0, nextSendAt: now, interval: config.initialRetransmit)
        self.localAddresses = config.candidates
        startHello(now: now)
    }

    // MARK: Requests

    /// Asks whether `uuid` is online (with its extra parameters and public IP). The answer comes
    /// as `.queryResult` or `.requestFailed` with the returned request ID.
    @discardableResult
    package func query(uuid: String, now: Instant) -> UInt32 {
        addRequest(.query(uuid: uuid), now: now)
    }

    /// Asks the server to introduce us to `uuid`; `clientConnectionID` is the ID our transport
    /// connection will receive on (the relay routes by it). `resumeDeviceConnectionID`: the
    /// connection is established and only its relay session is to be restored (no introduction);
    /// `resumeDeviceAddress`: where the device was registered (the server nudges it there).
    @discardableResult
    package func connect(
        uuid: String, clientConnectionID: ConnectionID, candidates: [NetAddress],
        resumeDeviceConnectionID: ConnectionID? = nil, resumeDeviceAddress: NetAddress? = nil, now: Instant
    ) -> UInt32 {
        addRequest(
            .connect(
                uuid: uuid, cid: clientConnectionID,
                candidates: Array(candidates.prefix(SignalingLimits.maxCandidates)),
                resume: resumeDeviceConnectionID, resumeAddress: resumeDeviceAddress), now: now)
    }

    /// Probes the server's observation port; nil when no observation address is configured.
    package func probe(now: Instant) -> UInt32? {
        guard config.observationServer != nil else { return nil }
        return addRequest(.probe, now: now)
    }

    /// Tells the server which path session `sessionID` settled on (its operator metrics count
    /// punch outcomes). Fire-and-forget: sent once, never retransmitted nor answered. Returns
    /// false (nothing sent) while not registered, since the report is authenticated by the token.
    @discardableResult
    package func report(sessionID: UInt64, path: SignalingPathKind, now: Instant) -> Bool {
        guard case .registered(let token) = phase else { return false }
        outbox.append(
            (.pathReport(requestID: newRequestID(), token: token, sessionID: sessionID, path: path), config.server))
        return true
    }

    /// Registers again with new LAN candidates / extra parameters.
    package func update(extra: [UInt8], candidates: [NetAddress], now: Instant) {
        config.extra = Array(extra.prefix(SignalingLimits.maxExtraLength))
        config.candidates = Array(candidates.prefix(SignalingLimits.maxCandidates))
        startHello(now: now)
    }

    /// A new vendor certificate (nil: none) for the REGISTERs from now on: the next
    /// registration carries it (a new one after the server forgot us, a failover, a changed
    /// candidate list). No registration is forced: the current one stays valid, and the server
    /// checks certificates only at registration. Throws `.certificateTooLong` (nothing changed)
    /// for one that does not fit REGISTER.
    package func update(certificate: [UInt8]?) throws(SignalingClientConfig.Invalid) {
        var next = config
        next.certificate = certificate
        try next.validate()
        config = next
    }

    package func pollEvent() -> SignalingClientEvent? {
        guard eventHead < events.count else {
            if eventHead > 0 {
                events.removeAll(keepingCapacity: true)
                eventHead = 0
            }
            return nil
        }
        defer { eventHead += 1 }
        return events[eventHead]
    }

    // MARK: Sans-IO

    package func receive(_ datagram: ByteBuffer, from address: NetAddress, now: Instant) {
        guard address == config.server || address == config.observationServer,
            let message = try? SignalingMessage.parse(datagram)
        else {
            ignoredDatagrams &+= 1
            return
        }
        if address == config.server { heardSinceHello = true }
        switch message {
        case .challenge(let id, let cookie, let serverKey):
            guard case .hello = phase, id == exchange.requestID else { return ignore() }
            if let pinned = config.serverPublicKey, pinned != serverKey { return refusedServerKey(now: now) }
            if config.serverPublicKey == nil, !warnedUnpinned {
                warnedUnpinned = true
                events.append(.unauthenticatedServer(publicKey: serverKey))
            }
            startRegistering(cookie: cookie, serverKey: serverKey, now: now)
        case .registered(let id, let ephemeral, let encrypted):
            guard case .registering(let initiator) = phase, id == exchange.requestID,
                let completed = try? initiator.complete(ephemeral: ephemeral, encryptedPayload: encrypted)
            else { return ignore() }
            let (answer, newChannel) = completed
            phase = .registered(token: answer.token)
            channel = newChannel
            let offered = Nanos.seconds(Int64(max(1, answer.keepaliveSeconds)))
            keepaliveInterval = min(offered, config.maxKeepaliveInterval)
            keepaliveDue = now + keepaliveInterval
            exchange = Retry(requestID: 0, nextSendAt: .distantFuture, interval: config.initialRetransmit)
            noteObserved(answer.observed)
            setStatus(.registered)
            // Requests waiting for a registration go out now (the NAT probe is already out).
            for id in requests.keys where !requests[id]!.isNATProbe { requests[id]!.retry.nextSendAt = now }
            if let early = earlyObservation {
                earlyObservation = nil
                classified(
                    NATBehavior.classify(main: observedAddress, observation: early, local: localAddresses), now: now)
            } else if requests.values.contains(where: \.isNATProbe), nat == .unknown {
                connectsHeldUntil = now + config.initialRetransmit
            }
        case .sealed(let sealed):
            guard address == config.server, channel?.id == sealed.channel,
                let inner = try? channel!.open(sealed)
            else { return ignore() }
            receiveSealed(inner, now: now)
        case .error(let id, let code):
            if case .registered(let token) = phase {
                // Bare (unauthenticated) errors while registered: only the server's "I do not
                // know this channel", named by the channel's low 32 bits, makes us register again.
                guard code == .unknownSession, id == UInt32(truncatingIfNeeded: token) else { return ignore() }
                return startHello(now: now)
            }
            handleError(id: id, code: code, now: now)
        case .probeResult(let id, let observed):
            guard let pending = requests[id] else { return ignore() }
            switch pending.kind {
            case .probe:
                requests[id] = nil
                events.append(.probeResult(requestID: id, observed: observed))
            case .natProbe:
                requests[id] = nil
                guard case .registered = phase else {
                    earlyObservation = observed
                    return
                }
                classified(
                    NATBehavior.classify(main: observedAddress, observation: observed, local: localAddresses), now: now)
                releaseConnects(now: now)
            default:
                ignore()
            }
        case .relayUnknown(_, let cid):
            guard address == config.server else { return ignore() }
            events.append(.relayUnknown(cid))
            // The server restarted, most likely: a keepalive now finds out whether it still
            // knows our channel (`unknownSession` -> register again) instead of at the next one.
            keepaliveNow(now: now)
        default:
            // Channel messages in clear are not from the server we registered with.
            ignore()
        }
    }

    /// A message that arrived authenticated in our channel.
    private func receiveSealed(_ message: SignalingMessage, now: Instant) {
        guard case .registered(let token) = phase else { return ignore() }
        switch message {
        case .keepaliveAck(let id, let observed):
            guard id == exchange.requestID else { return ignore() }
            exchange.nextSendAt = .distantFuture
            exchange.sends = 0
            noteObserved(observed)
        case .error(let id, let code):
            if code == .unknownSession, requests[id] == nil { return startHello(now: now) }
            handleError(id: id, code: code, now: now)
        case .queryResult(let result):
            guard let pending = requests[result.requestID], case .query = pending.kind else { return ignore() }
            requests[result.requestID] = nil
            events.append(.queryResult(requestID: result.requestID, result))
        case .connectResult(let result):
            guard let pending = requests[result.requestID], case .connect = pending.kind else { return ignore() }
            requests[result.requestID] = nil
            events.append(.connectResult(requestID: result.requestID, result))
        case .introduce(let intro):
            outbox.append(
                (.introduceAck(requestID: intro.requestID, token: token, sessionID: intro.sessionID), config.server))
            if seenSessions[intro.sessionID] == nil {
                seenSessions[intro.sessionID] = now
                events.append(.introduced(intro))
            }
        default:
            ignore()
        }
    }

    /// Writes `message`, sealed in our channel when it is a channel message (false: not
    /// registered, nothing written).
    private func write(_ message: SignalingMessage, into buffer: inout ByteBuffer) -> Bool {
        guard message.isChannelMessage else {
            message.write(into: &buffer)
            return true
        }
        guard channel != nil else { return false }
        SignalingMessage.sealed(channel!.seal(message)).write(into: &buffer)
        return true
    }

    /// Writes the next datagram into `buffer` (cleared first), like `Connection.pollTransmit`.
    package func pollTransmit(now: Instant, into buffer: inout ByteBuffer) -> NetAddress? {
        buffer.clear()
        lastTransmitAwaitsAnswer = false
        while !outbox.isEmpty {
            let (message, destination) = outbox.removeFirst()
            if write(message, into: &buffer) { return destination }
        }
        lastTransmitAwaitsAnswer = true
        if exchange.nextSendAt <= now {
            reportSilence(now: now)
            failOverIfSilent(now: now)
        }
        if exchange.nextSendAt <= now, let message = exchangeMessage() {
            backOff(&exchange, now: now)
            if write(message, into: &buffer) { return config.server }
        }
        guard case .registered(let token) = phase else { return pollNATProbe(now: now, into: &buffer) }
        if let until = connectsHeldUntil, until <= now { releaseConnects(now: now) }
        for (id, pending) in requests where pending.retry.nextSendAt <= now && pending.deadline > now {
            if case .connect = pending.kind, let until = connectsHeldUntil {
                requests[id]!.retry.nextSendAt = until
                continue
            }
            var retry = pending.retry
            backOff(&retry, now: now)
            requests[id]!.retry = retry
            switch pending.kind {
            case .query(let uuid):
                _ = write(.query(requestID: id, token: token, uuid: uuid), into: &buffer)
            case .connect(let uuid, let cid, let candidates, let resume, let resumeAddress):
                let written = write(
                    .connect(
                        .init(
                            requestID: id, token: token, uuid: uuid, clientConnectionID: cid,
                            candidates: candidates, nat: nat, resumeDeviceConnectionID: resume,
                            resumeDeviceAddress: resumeAddress)), into: &buffer)
                if written, retry.sends == 1 { events.append(.connectSent(requestID: id)) }
            case .probe, .natProbe:
                SignalingMessage.probe(requestID: id).write(into: &buffer)
                return config.observationServer ?? config.server
            }
            return config.server
        }
        return nil
    }

    /// Before registration only the NAT probe may go out (it needs no token).
    private func pollNATProbe(now: Instant, into buffer: inout ByteBuffer) -> NetAddress? {
        guard let (id, pending) = requests.first(where: { $0.value.isNATProbe && $0.value.retry.nextSendAt <= now }),
            pending.deadline > now
        else { return nil }
        backOff(&requests[id]!.retry, now: now)
        SignalingMessage.probe(requestID: id).write(into: &buffer)
        return config.observationServer ?? config.server
    }

    /// The way to the server changed (the shell moved its traffic between UDP and a TCP
    /// fallback): what waits for an answer is sent again now instead of after its backoff, since
    /// the earlier tries were most likely lost on the old way. Registered, a keepalive goes now
    /// even if none was due: the new way is a new source address for the server, which moves our
    /// record, and the relay sessions that follow it, on the first sealed message from there.
    /// Until then it drops our relayed datagrams as a stranger's.
    package func retransmitNow(now: Instant) {
        keepaliveNow(now: now)
        if exchange.nextSendAt != .distantFuture { exchange.nextSendAt = now }
        for id in requests.keys where requests[id]!.retry.nextSendAt > now { requests[id]!.retry.nextSendAt = now }
    }

    package func nextDeadline() -> Instant? {
        var next = exchange.nextSendAt
        if let keepaliveDue { next = min(next, keepaliveDue) }
        for pending in requests.values {
            next = min(next, pending.deadline)
            if pending.isNATProbe { next = min(next, pending.retry.nextSendAt) }
            if case .registered = phase { next = min(next, pending.retry.nextSendAt) }
        }
        if !outbox.isEmpty { return .zero }
        return next == .distantFuture ? nil : next
    }

    package func handleTimeout(now: Instant) {
        for (id, pending) in requests where pending.deadline <= now {
            requests[id] = nil
            if case .natProbe = pending.kind { continue }
            events.append(.requestFailed(requestID: id, .timeout))
        }
        if case .registered = phase {
            if let due = keepaliveDue, due <= now {
                keepaliveDue = now + keepaliveInterval
                keepaliveNow(now: now)
            }
            if exchange.sends > config.keepaliveRetries, exchange.nextSendAt <= now {
                // The server stopped answering: it may have restarted, or our NAT mapping changed.
                startHello(now: now)
            }
        }
        if seenSessions.count > 64 {
            seenSessions = seenSessions.filter { now - $0.value < .seconds(120) }
        }
    }

    /// The server has not answered this registration attempt (nil once it answered, or while
    /// registered): for status displays (`t2u status`).
    package func silence(now: Instant) -> ServerSilence? {
        if case .registered = phase { return nil }
        guard !heardSinceHello, exchange.sends > 0 else { return nil }
        return ServerSilence(server: config.server, tries: exchange.sends, elapsed: now - helloStartedAt)
    }

    // MARK: Internals

    /// Before the next try: reports the silence so far at 3, 6, 12, ... unanswered tries.
    private func reportSilence(now: Instant) {
        guard let silence = silence(now: now), silence.tries >= nextSilenceReport else { return }
        nextSilenceReport = silence.tries * 2
        events.append(.serverSilent(silence))
    }

    /// Registration unanswered for `failoverAfterSends` sends: the next server of the list.
    private func failOverIfSilent(now: Instant) {
        guard !config.fallbackServers.isEmpty, exchange.sends >= config.failoverAfterSends else { return }
        if case .registered = phase { return }
        config.fallbackServers.append(config.server)
        config.server = config.fallbackServers.removeFirst()
        if config.observationServer != nil, config.server.port < UInt16.max {
            config.observationServer = NetAddress(host: config.server.host, port: config.server.port + 1)
        }
        failovers &+= 1
        startHello(now: now)
    }

    private func ignore() { ignoredDatagrams &+= 1 }

    /// Our NAT is measured (or the wait is over): held CONNECTs go out now.
    private func releaseConnects(now: Instant) {
        guard connectsHeldUntil != nil else { return }
        connectsHeldUntil = nil
        for (id, pending) in requests {
            if case .connect = pending.kind, pending.retry.nextSendAt > now { requests[id]!.retry.nextSendAt = now }
        }
    }

    /// Registered and no keepalive in flight: one goes now. One still being retransmitted keeps
    /// its count of tries (that count is how a silent server is noticed).
    private func keepaliveNow(now: Instant) {
        guard case .registered = phase, exchange.nextSendAt == .distantFuture else { return }
        exchange = Retry(requestID: newRequestID(), nextSendAt: now, interval: config.initialRetransmit)
    }

    private func setStatus(_ new: Status) {
        guard new != status else { return }
        status = new
        events.append(.statusChanged(new))
    }

    private func noteObserved(_ address: NetAddress) {
        guard address != observedAddress else { return }
        observedAddress = address
        events.append(.observedAddress(address))
    }

    /// A new NAT measurement: reported, and told to the server by a keepalive right away.
    private func classified(_ behavior: NATBehavior, now: Instant) {
        guard behavior != nat else { return }
        nat = behavior
        events.append(.natBehavior(behavior))
        keepaliveNow(now: now)
    }

    private func newRequestID() -> UInt32 {
        nextRequestID &+= 1
        return nextRequestID
    }

    @discardableResult
    private func addRequest(_ kind: RequestKind, now: Instant) -> UInt32 {
        let id = newRequestID()
        let sendAt: Instant
        if case .registered = phase { sendAt = now } else { sendAt = .distantFuture }
        requests[id] = PendingRequest(
            kind: kind, retry: Retry(requestID: id, nextSendAt: sendAt, interval: config.initialRetransmit),
            deadline: now + config.requestTimeout)
        return id
    }

    /// REGISTER with `cookie` (from CHALLENGE, or all zeros when the server takes a client's
    /// registration without one) to `serverKey`.
    private func startRegistering(cookie: [UInt8], serverKey: [UInt8], now: Instant) {
        let payload = RegistrationPayload(
            uuid: config.uuid, extra: config.extra, candidates: config.candidates, nat: nat,
            certificate: config.certificate, rotation: rotationProof(cookie: cookie, serverKey: serverKey))
        do {
            let initiator = try SignalingRegistration.Initiator(
                requestID: newRequestID(), role: config.role, cookie: cookie, identity: config.identity,
                serverPublicKey: serverKey, payload: payload, entropy: entropy)
            phase = .registering(initiator)
            exchange = Retry(
                requestID: initiator.message.requestID, nextSendAt: now, interval: config.initialRetransmit)
        } catch {
            // An unusable key (e.g. a low-order point pinned): no REGISTER without HELLO again, or
            // starting over would come straight back here.
            cookieRefused = true
            refusedServerKey(now: now)
        }
    }

    /// A client that pins the server's key skips HELLO/CHALLENGE: its REGISTER carries no
    /// cookie, which the server accepts while such registrations stay under its budget (it
    /// answers `badCookie` otherwise, and we do the HELLO then). Saves a round trip at start.
    private var registersWithoutCookie: Bool {
        config.role == .client && config.serverPublicKey != nil && !cookieRefused
    }

    private func startHello(now: Instant) {
        phase = .hello
        helloStartedAt = now
        heardSinceHello = false
        nextSilenceReport = max(1, config.failoverAfterSends)
        channel = nil
        keepaliveDue = nil
        if status == .registered { setStatus(.connecting) }
        exchange = Retry(requestID: newRequestID(), nextSendAt: now, interval: config.initialRetransmit)
        for id in requests.keys { requests[id]!.retry.nextSendAt = .distantFuture }
        // The NAT may differ after a re-registration (new network, new mapping). It is measured
        // alongside the registration, so a CONNECT right after it need not wait for the probe.
        earlyObservation = nil
        if config.classifiesNAT, config.observationServer != nil {
            requests = requests.filter { !$0.value.isNATProbe }
            let id = addRequest(.natProbe, now: now)
            requests[id]!.retry.nextSendAt = now
        }
        if registersWithoutCookie, let serverKey = config.serverPublicKey {
            startRegistering(cookie: SignalingRegistration.noCookie, serverKey: serverKey, now: now)
        }
    }

    private func backOff(_ retry: inout Retry, now: Instant) {
        retry.sends += 1
        retry.nextSendAt = now + retry.interval
        retry.interval = min(retry.interval * 2, config.maxRetransmit)
    }

    private func exchangeMessage() -> SignalingMessage? {
        switch phase {
        case .hello:
            return .hello(requestID: exchange.requestID, role: config.role)
        case .registering(let initiator):
            return .register(initiator.message)
        case .registered(let token):
            guard exchange.sends <= config.keepaliveRetries else { return nil }
            return .keepalive(requestID: exchange.requestID, token: token, nat: nat)
        }
    }

    /// The server's key is not the one we trust (or it could not open our REGISTER).
    private func refusedServerKey(now: Instant) {
        setStatus(.keyRejected)
        retrySlowly(now: now)
    }

    /// Starts over, at the slowest retransmission pace: the operator may fix things on either side.
    private func retrySlowly(now: Instant) {
        startHello(now: now)
        exchange.nextSendAt = now + config.maxRetransmit
        exchange.interval = config.maxRetransmit
    }

    private func handleError(id: UInt32, code: SignalingErrorCode, now: Instant) {
        if requests[id] != nil {
            if code == .unknownSession {
                // Keep the request; it goes out again after re-registering.
                startHello(now: now)
            } else {
                requests[id] = nil
                events.append(.requestFailed(requestID: id, .server(code)))
            }
            return
        }
        guard id == exchange.requestID else { return ignore() }
        if code == .badCookie, case .registering(let initiator) = phase,
            initiator.message.cookie == SignalingRegistration.noCookie
        {
            cookieRefused = true  // this server wants the HELLO (busy, or older): from now on always
        }
        switch code {
        case .serverKeyRejected:
            refusedServerKey(now: now)
        case .identityConflict, .notEnrolled, .capacity:
            // Not ours to fix: the operator (or a restored state file) is. Keep trying slowly.
            events.append(.registrationRefused(code))
            retrySlowly(now: now)
        case .rateLimited:
            exchange.nextSendAt = now + exchange.interval
        default:
            startHello(now: now)
        }
    }

    /// The old key's proof for this registration (key rotation), nil when not rotating.
    private func rotationProof(cookie: [UInt8], serverKey: [UInt8]) -> KeyRotationData? {
        guard let old = config.rotatingFrom,
            let proof = KeyRotationProof.make(
                old: old, serverPublicKey: serverKey, uuid: config.uuid,
                newPublicKey: config.identity.publicKey, cookie: cookie)
        else { return nil }
        return KeyRotationData(oldPublicKey: old.publicKey, proof: proof)
    }
}
