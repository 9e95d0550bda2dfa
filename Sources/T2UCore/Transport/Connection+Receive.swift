// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore

extension Connection {
    /// Feeds one datagram (starting with its `PacketType` byte) received from `address`.
    /// Unauthenticated, replayed or malformed input is dropped and counted, never thrown.
    package func receive(_ datagram: ByteBuffer, from address: NetAddress, now: Instant) {
        lastNow = max(lastNow, now)
        guard state != .closed, let first = datagram.getInteger(at: datagram.readerIndex, as: UInt8.self),
            let type = PacketType.classify(first)
        else {
            stats.packetsRejected &+= 1
            return
        }
        // An excluded path is never read, so nothing (reply, PATH_RESPONSE, migration) follows it.
        guard pathPolicy.allows(address, established: state != .handshaking) else {
            stats.packetsOffPolicy &+= 1
            return
        }
        switch type {
        case .handshakeInitiation:
            // The initiator did not get our reply: send the same one again (one per initiation,
            // so no amplification beyond what it sent), where this copy came from (the relay
            // or a direct path).
            if state == .established, case .replying(var replying) = handshake {
                replying.initiationRepeated(from: address, peer: peerAddress)
                handshake = .replying(replying)
            }
        case .handshakeResponse, .handshakeRejection:
            receiveHandshakeReply(datagram, from: address, now: now)
        case .cookieReply:
            receiveCookieReply(datagram, now: now)
        case .dataKeyPhase0, .dataKeyPhase1:
            receiveProtected(datagram, from: address, now: now)
        }
    }

    /// The device is under load and wants proof of our address: the initiation goes out again
    /// at once with mac2 (to every address it went to). Forged replies change nothing.
    private func receiveCookieReply(_ datagram: ByteBuffer, now: Instant) {
        guard state == .handshaking, case .initiating(var initiating) = handshake else { return }
        do {
            try initiating.handleCookieReply(datagram, now: now)
        } catch {
            stats.packetsRejected &+= 1
            return
        }
        handshake = .initiating(initiating)
    }

    private func receiveHandshakeReply(_ datagram: ByteBuffer, from address: NetAddress, now: Instant) {
        guard state == .handshaking, case .initiating(let initiating) = handshake else { return }
        let outcome: InitiatorOutcome
        do {
            outcome = try initiating.initiator.handleReply(datagram)
        } catch {
            // Forged or corrupted: keep waiting for the genuine reply.
            stats.packetsRejected &+= 1
            return
        }
        switch outcome {
        case .rejected(let reason):
            enterClosed(reason == .passwordRejected ? .passwordRejected : .handshakeFailed("device busy"))
        case .passwordNotProven:
            // Same outcome as a wrong password (port status -5): the device did not prove it knows ours.
            enterClosed(.passwordRejected)
        case .established(let keys, let peerConnectionID, let payload):
            guard let parameters = try? TransportParameters.decode(payload) else {
                enterClosed(.handshakeFailed("malformed transport parameters from the device"))
                return
            }
            handshake = .done
            remoteConnectionID = peerConnectionID
            peerAddress = address
            validatedAddress = address
            lastReceiveTime = now
            establish(keys: keys, peer: parameters, now: now)
            // Confirm promptly so the responder's handshake reply retransmission stops.
            pingPending = true
        }
    }

    private func receiveProtected(_ datagram: ByteBuffer, from address: NetAddress, now: Instant) {
        // Established and closing connections have keys. They are used in place (`protection!`):
        // a copy would retain and release every key context per packet.
        guard state == .established || state == .closing, let updatesBefore = protection?.keyUpdates else { return }
        guard let header = try? DataPacketHeader.parse(datagram),
            header.destinationConnectionID == localConnectionID,
            replayWindow.isFresh(header.packetNumber)
        else {
            stats.packetsRejected &+= 1
            return
        }
        var payload: ByteBuffer
        do {
            payload = try protection!.open(
                packet: datagram, headerLength: DataPacketHeader.length,
                packetNumber: header.packetNumber, keyPhase: header.keyPhase)
        } catch {
            stats.packetsRejected &+= 1
            return
        }
        let keyUpdates = protection!.keyUpdates
        // The peer moved to the next key phase (it consumed any shared secret we answered with).
        if keyUpdates != updatesBefore { keyExchange.onPeerKeyUpdate() }
        packetsSinceKeyUpdate &+= 1
        replayWindow.mark(header.packetNumber)
        if amplificationLimit?.address == address { amplificationLimit?.onReceived(datagram.readableBytes) }
        stats.packetsReceived &+= 1
        stats.bytesReceived &+= UInt64(datagram.readableBytes)
        stats.keyUpdates = keyUpdates
        lastReceiveTime = now
        unansweredSince = nil
        // The initiator sends protected packets only once it has our reply.
        handshake = .done

        let isNewest = largestReceivedPacketNumber.map { header.packetNumber > $0 } ?? true
        if isNewest { largestReceivedPacketNumber = header.packetNumber }

        if state == .closing {
            // Remind the peer that we closed, at most once per packet it sends.
            if closeFramePending == nil, let drain = drainUntil, now < drain { closeFramePending = (0, "") }
            return
        }

        var ackEliciting = false
        var probingOnly = true
        do {
            while payload.readableBytes > 0 {
                let frame = try FrameCodec.decode(from: &payload)
                if frame.isAckEliciting { ackEliciting = true }
                if !Self.isProbing(frame) { probingOnly = false }
                try handle(frame, from: address, now: now)
                if state != .established { return }
            }
        } catch let error as WireError {
            closeForViolation(.frameEncodingError, "malformed frame: \(error)", now: now)
            return
        } catch let error as StreamError {
            let code: TransportErrorCode
            switch error {
            case .flowControlViolation: code = .flowControlError
            case .finalSizeViolation: code = .finalSizeError
            case .streamLimitReached: code = .streamLimitError
            default: code = .streamStateError
            }
            closeForViolation(code, "\(error)", now: now)
            return
        } catch let error as RecoveryError {
            closeForViolation(.protocolViolation, "\(error)", now: now)
            return
        } catch let error as KeyUpdateViolation {
            closeForViolation(.protocolViolation, error.description, now: now)
            return
        } catch {
            closeForViolation(.internalError, "\(error)", now: now)
            return
        }
        ackTracker.onPacketReceived(header.packetNumber, ackEliciting: ackEliciting, now: now)
        peerWasSending = ackEliciting

        // The peer's newest non-probing packet came from elsewhere: its NAT rebound or it
        // switched path. Send there at once, and prove the address with a challenge before
        // keeping it. Probing-only packets (someone testing a path) never move us.
        guard !probingOnly else { return }
        let isNewestNonProbing = largestNonProbingPacketNumber.map { header.packetNumber > $0 } ?? true
        if isNewestNonProbing { largestNonProbingPacketNumber = header.packetNumber }
        // The peer follows us on the new path: its later packets from the old one are a
        // deliberate move (e.g. its own failover), no longer stragglers.
        if isNewestNonProbing, address == peerAddress { abandonedAddress = nil }
        if isNewestNonProbing, address != peerAddress, address != abandonedAddress {
            // Another host (relay <-> direct) is another path: its window and RTT start afresh.
            // A new port on the same host is a NAT rebinding: same path, state kept.
            if address.host != peerAddress.host {
                recovery.resetForNewPath()
                stats.congestionWindow = recovery.congestionWindow
            }
            peerAddress = address
            amplificationLimit =
                address == validatedAddress
                ? nil : AmplificationLimit(address: address, received: datagram.readableBytes)
            pathValidator.start(
                address: address, challenge: entropy.nextUInt64(), now: now,
                timeout: max(recovery.rtt.probeTimeout(maxAckDelay: config.maxAckDelay) * 3, .seconds(1)))
        }
    }

    private func handle(_ frame: Frame, from address: NetAddress, now: Instant) throws {
        switch frame {
        case .padding, .ping:
            break
        case .dataBlocked(let limit):
            // Our MAX_DATA above it was lost or is on its way: send the current one again.
            if flow.advertisedMaxData > limit { maxDataPending = true }
        case .streamDataBlocked(let id, let limit):
            if let stream = streams[id], stream.recv.advertisedMaxData > limit { maxStreamDataPending.insert(id) }
        case .ack(let ack):
            try handleAck(ack, now: now)
        case .stream(let streamFrame):
            try handleStreamFrame(streamFrame, now: now)
        case .resetStream(let id, let errorCode, let finalSize):
            guard let id = try streamForPeerFrame(id, now: now), let stream = streams[id] else {
                return try settleResetStream(id, through: finalSize)
            }
            let newBytes = try stream.recv.onReset(finalSize: finalSize)
            try flow.onBytesReceived(newBytes)
            // The peer aborted both directions: it learns our final size from our own reset,
            // so the credit our unseen data took returns to it (see `settleResetStream`).
            resetsPending.append((id, errorCode, stream.send.sentOffset))
            discardStream(id)
            emit(.streamReset(id, errorCode: errorCode))
        case .maxData(let maximum):
            flow.updatePeerMaxData(maximum)
            for (id, stream) in streams where stream.send.hasSendableData { scheduler.markSendable(id) }
        case .maxStreamData(let id, let maximum):
            guard let id = try streamForPeerFrame(id, now: now), let stream = streams[id] else { return }
            stream.send.updatePeerMaxData(maximum)
            let sendable = stream.send.hasSendableData
            if sendable { scheduler.markSendable(id) }
        case .maxStreams(let maximum):
            localStreamLimit = max(localStreamLimit, min(maximum, 1 << 60))
        case .pathChallenge(let value):
            if pathResponsesPending.count < 8 { pathResponsesPending.append((address, value)) }
        case .pathResponse(let value):
            if pathValidator.onResponse(value, from: address) {
                validatedAddress = address
                if amplificationLimit?.address == address { amplificationLimit = nil }
                if peerAddress == address { emit(.pathChanged(address)) }
            } else if let validated = pathProber.onResponse(value, from: address),
                !failedPathAnswered(validated, now: now)
            {
                emit(.pathValidated(validated))
            }
        case .close(let errorCode, let reason):
            enterClosed(.peer(errorCode: errorCode, reason: reason))
        case .keyUpdate(let update):
            try handleKeyUpdate(update)
        }
    }

    private func handleStreamFrame(_ frame: StreamFrame, now: Instant) throws {
        guard let id = try streamForPeerFrame(frame.id, now: now), let stream = streams[id] else {
            return try settleResetStream(
                frame.id, through: frame.offset + UInt64(frame.data.readableBytes), isFinalSize: frame.fin)
        }
        let newBytes = try stream.recv.receive(offset: frame.offset, data: frame.data, fin: frame.fin)
        try flow.onBytesReceived(newBytes)
        flow.noteReceived { stream.recv.isReaderAtHole }
        let rtt = recovery.rtt.smoothedRtt
        if stream.recv.takeGrowthBehindHole(now: now, smoothedRtt: rtt) != nil { maxStreamDataPending.insert(id) }
        if flow.takeGrowthBehindHole(now: now, smoothedRtt: rtt, reserve: reserveReceiveGrowth) != nil {
            maxDataPending = true
        }
        let readable = stream.recv.hasReadableData
        if readable { signalReadable(id) }
    }

    private func handleAck(_ ack: AckFrame, now: Instant) throws {
        let result = try recovery.onAckReceived(ack, now: now)
        for packet in result.newlyAcked {
            for frame in packet.payload { onFrameAcked(frame) }
        }
        onPacketsLost(result.lost)
        stats.smoothedRtt = recovery.rtt.smoothedRtt
        stats.minRtt = recovery.rtt.minRtt
        if recovery.rtt.hasSample { ackTracker.minRtt = recovery.rtt.minRtt }
        stats.congestionWindow = recovery.congestionWindow
        stats.estimatedBandwidth = recovery.estimatedBandwidth
    }

    private func onFrameAcked(_ frame: SentFrame) {
        switch frame {
        case .stream(let id, let offset, let length, let fin):
            guard let stream = streams[id] else { return }
            stream.send.onAcked(offset: offset, length: length, fin: fin)
            let notify = stream.wantsWritable && stream.send.hasRoomForABatch
            if notify { stream.wantsWritable = false }
            if notify { emit(.streamWritable(id)) }
            if stream.isComplete { retireIfComplete(id) }
        case .ack(let largest):
            ackTracker.onAckAcknowledged(largest: largest)
        case .streamOpen, .resetStream, .maxData, .maxStreamData, .maxStreams, .dataBlocked, .streamDataBlocked, .ping,
            .close, .keyUpdate:
            break
        }
    }

    /// A PTO probe repeats what the oldest packet in flight carried, as far as repeating it is
    /// harmless (`requeueRepeatable`). A credit update lost while its sender has nothing else
    /// in flight would otherwise hold the peer blocked for the probe timeout and a round trip
    /// more.
    func sendAgainInProbe(_ frames: [SentFrame]) {
        for frame in frames { _ = requeueRepeatable(frame) }
    }

    /// Queues `frame` again when sending it twice is harmless: stream data (a copy the peer
    /// already has is dropped) and the current credit limits. False for every other frame.
    private func requeueRepeatable(_ frame: SentFrame) -> Bool {
        switch frame {
        case .stream(let id, let offset, let length, let fin):
            if let stream = streams[id] {
                stream.send.onLost(offset: offset, length: length, fin: fin)
                scheduler.markSendable(id)
            }
        case .maxData:
            maxDataPending = true
        case .maxStreamData(let id):
            if streams[id] != nil { maxStreamDataPending.insert(id) }
        case .maxStreams:
            maxStreamsPending = true
        case .streamOpen, .resetStream, .dataBlocked, .streamDataBlocked, .keyUpdate, .ack, .ping, .close:
            return false
        }
        return true
    }

    /// Re-queues what lost packets carried; the data goes out again in new packets.
    func onPacketsLost(_ lost: [SentPacket<[SentFrame]>]) {
        // Path probes carry no tracked frames: probes into black holes are not data loss.
        stats.packetsLost &+= UInt64(lost.count(where: { !$0.payload.isEmpty }))
        for packet in lost {
            for frame in packet.payload where !requeueRepeatable(frame) {
                switch frame {
                case .stream, .maxData, .maxStreamData, .maxStreams:
                    break  // queued again above
                case .streamOpen(let id):
                    // Announce again unless data (which announces it too) went out meanwhile.
                    if let stream = streams[id], stream.send.sentOffset == 0, !stream.send.isFinished {
                        stream.needsOpenFrame = true
                        scheduler.markSendable(id)
                    }
                case .resetStream(let id, let code, let finalSize):
                    resetsPending.append((id, code, finalSize))
                case .dataBlocked(let limit):
                    if flow.sendCredit == 0, flow.peerCreditLimit == limit { dataBlockedPending = limit }
                case .streamDataBlocked(let id, let limit):
                    if let stream = streams[id], stream.send.isBlockedByStreamCredit,
                        stream.send.peerCreditLimit == limit
                    {
                        streamDataBlockedPending[id] = limit
                    }
                case .keyUpdate(let sequence, let isResponse):
                    keyExchange.onLost(sequence: sequence, isResponse: isResponse)
                case .ack, .ping, .close:
                    break
                }
            }
        }
    }
}

extension Frame {
    /// Frames that oblige the receiver to acknowledge (everything but ACK, PADDING and CLOSE).
    var isAckEliciting: Bool {
        switch self {
        case .ack, .padding, .close: return false
        default: return true
        }
    }
}
