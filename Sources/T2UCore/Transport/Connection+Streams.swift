// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore

extension Connection {
    /// Opens a new stream (one per TCP connection carried).
    package func openStream() throws(StreamError) -> StreamID {
        guard state == .established else {
            throw state == .handshaking ? .connectionNotEstablished : .connectionClosed
        }
        guard nextLocalStreamIndex < localStreamLimit else { throw .streamLimitReached }
        let parity: UInt64 = role == .initiator ? 0 : 1
        let id = StreamID(rawValue: nextLocalStreamIndex << 1 | parity)
        nextLocalStreamIndex += 1
        let stream = StreamState(id: id, config: config, peerMaxStreamData: peerParameters?.initialMaxStreamData ?? 0)
        stream.needsOpenFrame = true
        streams[id] = stream
        scheduler.markSendable(id)
        return id
    }

    /// Queues bytes; returns how many were accepted (fewer than offered when the send buffer is
    /// full: wait for `streamWritable`).
    package func write(_ data: ByteBuffer, to id: StreamID) throws(StreamError) -> Int {
        guard state == .established else { throw .connectionClosed }
        guard let stream = streams[id] else { throw .unknownStream(id) }
        if data.readableBytes > stream.send.writableBytes { growSendBuffer(stream) }
        let accepted = try stream.send.write(data)
        if accepted < data.readableBytes { stream.wantsWritable = true }
        let sendable = stream.send.hasSendableData
        if sendable { scheduler.markSendable(id) }
        stats.streamBytesSent &+= UInt64(accepted)
        return accepted
    }

    /// Bytes `write` would accept now.
    package func writableBytes(_ id: StreamID) -> Int {
        guard let stream = streams[id] else { return 0 }
        growSendBuffer(stream)
        return stream.send.writableBytes
    }

    /// Half-close: no more writes; the peer reads FIN after the data.
    package func finish(_ id: StreamID) throws(StreamError) {
        guard state == .established else { throw .connectionClosed }
        guard let stream = streams[id] else { throw .unknownStream(id) }
        try stream.send.finish()
        scheduler.markSendable(id)
    }

    package func read(_ id: StreamID, maxBytes: Int) throws(StreamError) -> StreamRead {
        guard let stream = streams[id] else {
            throw state == .established ? .unknownStream(id) : .connectionClosed
        }
        let result = stream.recv.read(maxBytes: maxBytes)
        if case .data(let bytes) = result {
            stats.streamBytesReceived &+= UInt64(bytes.readableBytes)
            if stream.recv.takeWindowUpdate(now: lastNow, smoothedRtt: recovery.rtt.smoothedRtt) != nil {
                maxStreamDataPending.insert(id)
            }
            returnConnectionCredit(bytes.readableBytes)
        }
        if case .fin = result { retireIfComplete(id) }
        return result
    }

    /// Aborts both directions (TCP reset): the peer sees `streamReset`.
    package func reset(_ id: StreamID, errorCode: UInt64) {
        guard let stream = streams[id] else { return }
        if state == .established {
            resetsPending.append((id, errorCode, stream.send.sentOffset))
            if stream.recv.finalSize == nil, resetsAwaitingFinalSize.count < Self.maxResetsAwaitingFinalSize {
                resetsAwaitingFinalSize[id] = stream.recv.highestReceived
            }
        }
        discardStream(id)
    }

    // MARK: internal

    /// Bytes of a stream we reset arriving after it is gone (data in flight, or the peer's
    /// reset with its final size): they took connection credit from the peer, so they count as
    /// received and consumed at once. Without this every reset would shrink the peer's credit
    /// for good, and a long-lived connection would slow down and finally stall. The record
    /// goes once the peer's final size is known.
    func settleResetStream(_ id: StreamID, through end: UInt64, isFinalSize: Bool = true) throws(StreamError) {
        guard let counted = resetsAwaitingFinalSize[id] else { return }
        if end > counted {
            try flow.onBytesReceived(Int(end - counted))
            returnConnectionCredit(Int(end - counted))
            resetsAwaitingFinalSize[id] = end
        }
        if isFinalSize { resetsAwaitingFinalSize[id] = nil }
    }

    /// `n` received bytes were read, or dropped unread with their stream: the connection credit
    /// they took goes back to the peer, with a MAX_DATA once enough has come back. Every way
    /// credit returns must ask for that update: a sender out of credit has nothing else to send
    /// that would make us read, so credit returned silently is credit lost for good.
    func returnConnectionCredit(_ n: Int) {
        flow.onBytesConsumed(n)
        if flow.takeWindowUpdate(now: lastNow, smoothedRtt: recovery.rtt.smoothedRtt, reserve: reserveReceiveGrowth)
            != nil
        {
            maxDataPending = true
        }
    }

    /// Removes a stream whose both directions ended; returns its unread bytes to flow control.
    func retireIfComplete(_ id: StreamID) {
        guard let stream = streams[id], stream.isComplete else { return }
        discardStream(id)
        emit(.streamClosed(id))
    }

    func discardStream(_ id: StreamID) {
        guard let stream = streams.removeValue(forKey: id) else { return }
        releaseSendBuffer(of: stream)
        let unconsumed = stream.recv.unconsumedCreditBytes
        if unconsumed > 0 { returnConnectionCredit(unconsumed) }
        scheduler.remove(id)
        maxStreamDataPending.remove(id)
        streamDataBlockedPending[id] = nil
        let peerOpened = id.isInitiatorOpened != (role == .initiator)
        if peerOpened {
            peerStreamsClosed += 1
            peerStreamLimit = peerStreamsClosed + UInt64(config.maxConcurrentStreams)
            maxStreamsPending = true
        }
    }

    /// The stream a peer's frame refers to: existing, newly opened (with every lower ID of its
    /// kind, which the peer opened first), or nil for a stream already gone.
    func streamForPeerFrame(_ id: StreamID, now: Instant) throws(StreamError) -> StreamID? {
        if streams[id] != nil { return id }
        let peerOpened = id.isInitiatorOpened != (role == .initiator)
        let index = id.rawValue >> 1
        guard peerOpened else {
            // One of ours: either closed already (ignore) or never opened (violation).
            if index < nextLocalStreamIndex { return nil }
            throw .unknownStream(id)
        }
        if index < nextPeerStreamIndex { return nil }
        guard index < peerStreamLimit else { throw .streamLimitReached }
        let parity = id.rawValue & 1
        let initialCredit = peerParameters?.initialMaxStreamData ?? 0
        while nextPeerStreamIndex <= index {
            let newID = StreamID(rawValue: nextPeerStreamIndex << 1 | parity)
            streams[newID] = StreamState(id: newID, config: config, peerMaxStreamData: initialCredit)
            nextPeerStreamIndex += 1
            emit(.streamOpened(newID))
        }
        return id
    }
}
