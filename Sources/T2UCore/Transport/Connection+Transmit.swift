// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore

extension Connection {
    /// Writes the next datagram to send into `buffer` (cleared first) and returns its
    /// destination, or nil when nothing may be sent now (see `nextDeadline`).
    package func pollTransmit(now: Instant, into buffer: inout ByteBuffer) -> NetAddress? {
        lastNow = max(lastNow, now)
        buffer.clear()
        lastTransmitAwaitsAnswer = true
        switch state {
        case .closed:
            return nil
        case .handshaking:
            guard case .initiating(var initiating) = handshake else { return nil }
            let copy = initiating.nextCopy(now: now)
            handshake = .initiating(initiating)
            let destination: NetAddress
            switch copy {
            case nil:
                return nil
            case .alsoTo(let address):
                destination = address
            case .peer:
                // An excluded first address (the owner's mistake) gets nothing; the others
                // still do.
                guard pathPolicy.allows(peerAddress, established: false) else {
                    return pollTransmit(now: now, into: &buffer)
                }
                destination = peerAddress
            }
            buffer.writeBytes(initiating.initiator.initiationDatagram)
            countSent(buffer)
            return destination
        case .closing:
            guard let close = closeFramePending else { return nil }
            closeFramePending = nil
            writeProtectedPacket(into: &buffer, now: now) { buffer, _ in
                FrameCodec.encode(.close(errorCode: close.code, reason: close.reason), into: &buffer)
            }
            return peerAddress
        case .established:
            break
        }
        guard let destination = pollEstablished(now: now, into: &buffer) else { return nil }
        if amplificationLimit?.address == destination { amplificationLimit?.onSent(buffer.readableBytes) }
        return destination
    }

    /// Established: the next datagram, never more to an unvalidated `peerAddress` than its 3x
    /// budget allows (challenges and path responses are small and still fit).
    private func pollEstablished(now: Instant, into buffer: inout ByteBuffer) -> NetAddress? {
        if case .replying(var replying) = handshake,
            let destination = replying.nextDestination(peer: peerAddress)
        {
            handshake = .replying(replying)
            buffer.writeBytes(replying.reply)
            countSent(buffer)
            return destination
        }
        if !pathResponsesPending.isEmpty {
            let (address, value) = pathResponsesPending.removeFirst()
            writeProtectedPacket(into: &buffer, now: now) { buffer, _ in
                FrameCodec.encode(.pathResponse(value), into: &buffer)
            }
            return address
        }
        let retry = max(recovery.rtt.probeTimeout(maxAckDelay: config.maxAckDelay), .milliseconds(50))
        if !challengeBlockedByAmplification,
            let (address, value) = pathValidator.challengeToSend(now: now, retryInterval: retry)
        {
            writeProtectedPacket(into: &buffer, now: now) { buffer, frames in
                FrameCodec.encode(.pathChallenge(value), into: &buffer)
                frames.append(.ping)
            }
            return address
        }
        // Owner-requested probes alternate with data packets when both wait.
        if probeTurn, let destination = writePathProbe(now: now, into: &buffer) {
            probeTurn = false
            return destination
        }
        probeTurn = true
        if !peerAmplificationBlocked, writeDataPacket(now: now, into: &buffer) { return peerAddress }
        return writePathProbe(now: now, into: &buffer)
    }

    /// One due `probePath` challenge (a ~45-byte packet; not in flight for congestion
    /// control: its retries and expiry are the prober's), or nil. Exhausted probes are
    /// reported failed on the way.
    private func writePathProbe(now: Instant, into buffer: inout ByteBuffer) -> NetAddress? {
        while let due = pathProber.nextDue(now: now, retryInterval: pathProbeRetryInterval) {
            switch due {
            case .failed(let address):
                pathProbeExhausted(address, now: now)
            case .send(let address, let value):
                writeProtectedPacket(into: &buffer, now: now) { buffer, _ in
                    FrameCodec.encode(.pathChallenge(value), into: &buffer)
                }
                if buffer.readableBytes > 0 { return address }
            }
        }
        return nil
    }

    var hasControlFramesPending: Bool {
        pingPending || maxDataPending || maxStreamsPending || !maxStreamDataPending.isEmpty || !resetsPending.isEmpty
            || dataBlockedPending != nil || !streamDataBlockedPending.isEmpty || keyExchange.hasFrameToSend
    }

    /// A stream with data waits for credit: say so once per limit (RFC 9000 §4.1). The peer
    /// answers with its current limit when it is higher, so a lost MAX_DATA or
    /// MAX_STREAM_DATA costs a round trip instead of the peer's probe timeout and more.
    func reportBlocked(_ id: StreamID, _ stream: StreamState) {
        if stream.send.isBlockedByStreamCredit {
            let limit = stream.send.peerCreditLimit
            guard stream.blockedReported != limit else { return }
            stream.blockedReported = limit
            streamDataBlockedPending[id] = limit
        } else if stream.send.hasUnsentData, flow.sendCredit == 0, dataBlockedReported != flow.peerCreditLimit {
            dataBlockedReported = flow.peerCreditLimit
            dataBlockedPending = flow.peerCreditLimit
        }
    }

    /// Whether congestion control and pacing let an ack-eliciting packet go now.
    func mayElicit(now: Instant) -> Bool {
        if probesPending > 0 { return true }
        guard recovery.congestionAllowance() >= config.maxDatagramSize else { return false }
        return recovery.pacingDeadline(now: now, size: config.maxDatagramSize) <= now
    }

    /// The regular packet: ACK, control frames, then stream data in round-robin order.
    private func writeDataPacket(now: Instant, into buffer: inout ByteBuffer) -> Bool {
        let ackDue = ackTracker.ackDeadline().map { $0 <= now } ?? false
        let mayElicit = mayElicit(now: now)
        let hasData = !scheduler.isEmpty
        let controlFramesPending = hasControlFramesPending
        let wantsElicit = controlFramesPending || hasData || probesPending > 0
        if !wantsElicit && recovery.congestionAllowance() >= config.maxDatagramSize {
            recovery.onAppLimited()
        }
        // Control frames (credit, resets) go out even when the window is full: withholding
        // credit from a peer that waits for it would stall both sides.
        guard ackDue || controlFramesPending || (mayElicit && wantsElicit) else { return false }

        writeProtectedPacket(into: &buffer, now: now) { buffer, frames in
            let end = buffer.writerIndex + packetPayloadCapacity
            if ackTracker.ackDeadline() != nil {
                let ranges = ackTracker.ackRanges(maxRanges: 64)
                if !ranges.isEmpty {
                    let written = FrameCodec.writeAckFrame(
                        ackDelayMicros: ackTracker.ackDelayMicros(now: now), ranges: ranges,
                        maxLength: end - buffer.writerIndex, into: &buffer)
                    if written > 0 { frames.append(.ack(largest: ranges[0].upperBound)) }
                }
                ackTracker.onAckSent(now: now)
            }
            writeControlFrames(into: &buffer, frames: &frames, end: end)
            if mayElicit { writeStreamFrames(into: &buffer, frames: &frames, end: end) }
            if probesPending > 0 {
                probesPending -= 1
                if !frames.contains(where: \.isAckEliciting) {
                    FrameCodec.encode(.ping, into: &buffer)
                    frames.append(.ping)
                }
            }
        }
        return buffer.readableBytes > 0
    }

    private var packetPayloadCapacity: Int {
        config.maxDatagramSize - DataPacketHeader.length - PacketProtection.tagLength
    }

    private func writeControlFrames(into buffer: inout ByteBuffer, frames: inout [SentFrame], end: Int) {
        func fits(_ frame: Frame) -> Bool { end - buffer.writerIndex >= FrameCodec.encodedLength(frame) }
        while let (id, code, finalSize) = resetsPending.first {
            let frame = Frame.resetStream(id: id, errorCode: code, finalSize: finalSize)
            guard fits(frame) else { return }
            FrameCodec.encode(frame, into: &buffer)
            frames.append(.resetStream(id, errorCode: code, finalSize: finalSize))
            resetsPending.removeFirst()
        }
        if maxDataPending {
            let frame = Frame.maxData(flow.advertisedMaxData)
            guard fits(frame) else { return }
            FrameCodec.encode(frame, into: &buffer)
            frames.append(.maxData)
            maxDataPending = false
        }
        if maxStreamsPending {
            let frame = Frame.maxStreams(peerStreamLimit)
            guard fits(frame) else { return }
            FrameCodec.encode(frame, into: &buffer)
            frames.append(.maxStreams)
            maxStreamsPending = false
        }
        while let id = maxStreamDataPending.first {
            guard let stream = streams[id] else {
                maxStreamDataPending.remove(id)
                continue
            }
            let frame = Frame.maxStreamData(id: id, maximum: stream.recv.advertisedMaxData)
            guard fits(frame) else { return }
            FrameCodec.encode(frame, into: &buffer)
            frames.append(.maxStreamData(id))
            maxStreamDataPending.remove(id)
        }
        if let limit = dataBlockedPending {
            let frame = Frame.dataBlocked(limit: limit)
            guard fits(frame) else { return }
            FrameCodec.encode(frame, into: &buffer)
            frames.append(.dataBlocked(limit: limit))
            dataBlockedPending = nil
        }
        while let (id, limit) = streamDataBlockedPending.first {
            let frame = Frame.streamDataBlocked(id: id, limit: limit)
            guard fits(frame) else { return }
            FrameCodec.encode(frame, into: &buffer)
            frames.append(.streamDataBlocked(id, limit: limit))
            streamDataBlockedPending[id] = nil
        }
        if let update = keyExchange.frameToSend() {
            let frame = Frame.keyUpdate(update)
            guard fits(frame) else { return }
            FrameCodec.encode(frame, into: &buffer)
            frames.append(.keyUpdate(sequence: update.sequence, isResponse: update.isResponse))
            keyExchange.didSend(update)
        }
        if pingPending, fits(.ping) {
            FrameCodec.encode(.ping, into: &buffer)
            frames.append(.ping)
            pingPending = false
        }
    }

    private func writeStreamFrames(into buffer: inout ByteBuffer, frames: inout [SentFrame], end: Int) {
        while let id = scheduler.next() {
            guard let stream = streams[id] else { continue }
            // Worst case header: offsets and lengths as 8-byte varints.
            let room =
                end - buffer.writerIndex
                - FrameCodec.streamFrameHeaderLength(id: id, offset: VarInt.max, length: 1 << 30)
            guard room > 0 else {
                scheduler.markSendable(id)
                return
            }
            if stream.needsOpenFrame {
                stream.needsOpenFrame = false
                if !stream.send.hasSendableData {
                    FrameCodec.writeStreamFrame(id: id, offset: 0, fin: false, data: ByteBuffer(), into: &buffer)
                    frames.append(.streamOpen(id))
                    continue
                }
            }
            guard let chunk = stream.send.nextChunk(maxLength: room, connectionCredit: flow.sendCredit) else {
                // Blocked on credit: MAX_DATA / MAX_STREAM_DATA puts it back in the schedule.
                reportBlocked(id, stream)
                continue
            }
            FrameCodec.writeStreamFrame(id: id, offset: chunk.offset, fin: chunk.fin, data: chunk.data, into: &buffer)
            flow.onNewBytesSent(chunk.newBytes)
            frames.append(.stream(id, offset: chunk.offset, length: chunk.data.readableBytes, fin: chunk.fin))
            let more = stream.send.hasSendableData
            if more { scheduler.markSendable(id) } else { reportBlocked(id, stream) }
            // The packet is nearly full: the rest goes in the next one.
            if end - buffer.writerIndex < 64 { return }
        }
    }

    /// Header, frames from `body`, AEAD seal, and loss-recovery bookkeeping for one packet.
    /// Leaves `buffer` empty when `body` wrote nothing.
    func writeProtectedPacket(
        into buffer: inout ByteBuffer, now: Instant,
        _ body: (inout ByteBuffer, inout [SentFrame]) -> Void
    ) {
        // The keys are used in place (`protection!`): a copy would retain and release every key
        // context per packet.
        guard let sendKeyPhase = protection?.sendKeyPhase else { return }
        let packetNumber = nextPacketNumber
        let header = DataPacketHeader(
            keyPhase: sendKeyPhase, destinationConnectionID: remoteConnectionID,
            packetNumber: packetNumber)
        header.write(into: &buffer)
        var frames: [SentFrame] = []
        frames.reserveCapacity(4)
        body(&buffer, &frames)
        guard buffer.readableBytes > DataPacketHeader.length else {
            buffer.clear()
            return
        }
        protection!.seal(packet: &buffer, headerLength: DataPacketHeader.length, packetNumber: packetNumber)
        nextPacketNumber += 1
        let ackEliciting = frames.contains(where: \.isAckEliciting)
        lastTransmitAwaitsAnswer = ackEliciting
        recovery.onPacketSent(
            packetNumber: packetNumber, now: now, size: buffer.readableBytes,
            ackEliciting: ackEliciting, inFlight: ackEliciting, payload: frames)
        countSent(buffer)
        if ackEliciting {
            lastSendTime = now
            if unansweredSince == nil { unansweredSince = now }
        }

        packetsSinceKeyUpdate += 1
        updateKeysIfDue(now: now, protection: &protection!)
        stats.keyUpdates = protection!.keyUpdates
    }

    private func countSent(_ buffer: ByteBuffer) {
        stats.packetsSent &+= 1
        stats.bytesSent &+= UInt64(buffer.readableBytes)
    }
}

extension SentFrame {
    var isAckEliciting: Bool {
        switch self {
        case .ack, .close: return false
        default: return true
        }
    }
}
