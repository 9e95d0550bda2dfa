// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Logging
import NIOCore
import NIOPosix
import T2UCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Joins one local TCP channel and one transport stream, with backpressure both ways:
///
/// - TCP -> stream: bytes go to `Connection.write`; what the stream does not accept is kept
///   and TCP reads stop (the `read` outbound event is held) until `.streamWritable`.
/// - stream -> TCP: the stream is read only while the TCP channel is writable, so a slow TCP
///   reader leaves data in the stream's receive buffer and its flow-control credit is not
///   returned to the sender.
/// - TCP half-close (input closed) -> `finish`; stream FIN -> TCP output shutdown (after the
///   data before it is written).
/// - TCP error or close before both directions finished -> stream reset; stream reset ->
///   TCP reset (SO_LINGER 0).
///
/// - Preambles: bytes queued with `sendFirst` go on the stream before any TCP byte (the
///   client's target header, the device's ok reply); with `awaitReply` the device's reply is
///   read off the stream before any stream byte reaches TCP, and anything but ok aborts TCP.
///
/// Lives on the driver's event loop, in the TCP channel's pipeline.
package final class StreamBridge: ChannelDuplexHandler {
    package typealias InboundIn = ByteBuffer
    package typealias OutboundIn = ByteBuffer
    package typealias OutboundOut = ByteBuffer

    /// Error code of a stream reset caused by the local TCP connection failing or closing early.
    package static let tcpAbortedErrorCode: UInt64 = 0x54_43_50  // "TCP"

    /// Largest chunk read from the stream per `read` call.
    static let streamReadChunk = 256 * 1024
    /// Bound on stream reads per pump before yielding to the event loop.
    static let maxReadsPerPump = 64

    package private(set) var stream: StreamID?
    let connection: Connection
    let driver: EndpointDriver
    private let logger: Logger
    /// Called once when the bridge is done (TCP channel gone).
    var onFinished: ((StreamBridge) -> Void)?

    /// TCP -> stream.
    private enum Upstream {
        /// TCP is read (while the stream accepts what came).
        case open
        /// TCP's input ended; the stream's FIN goes once the bytes before it are accepted.
        case inputClosed
        /// The stream's FIN is sent: nothing more goes this way.
        case finishSent
    }

    /// Stream -> TCP.
    private enum Downstream {
        /// Client side: the device's reply collected so far; stream bytes reach TCP only after it.
        case awaitingReply(ByteBuffer)
        case open
        /// The stream's FIN arrived: TCP's output is (being) shut down.
        case finReceived
    }

    /// The bridge as a whole.
    private enum Phase {
        case running
        /// The TCP channel closed cleanly while TCP bytes still wait for the stream.
        case draining
        /// `onFinished` was called.
        case finished
    }

    private var context: ChannelHandlerContext?
    private var upstream = Upstream.open
    private var downstream = Downstream.open
    private var phase = Phase.running
    /// TCP bytes the stream has not accepted yet; TCP reads are paused while non-nil.
    private var pendingToStream: ByteBuffer?
    /// A TCP read was asked for while bytes were pending: issued once they are accepted.
    private var heldRead = false
    /// The stream may have bytes to read (until a read says it would block).
    private var streamReadable = false
    /// The stream is reset or closed: never touch it again.
    private var streamGone = false
    /// The TCP connection failed (reset, I/O error): its end is never a clean EOF.
    private var tcpFailed = false
    private var onReply: ((StreamTargetReply.Status) -> Void)?
    private var preambleOnActive: ByteBuffer?

    package private(set) var bytesToStream: UInt64 = 0
    package private(set) var bytesToTCP: UInt64 = 0

    init(stream: StreamID?, connection: Connection, driver: EndpointDriver, logger: Logger) {
        self.stream = stream
        self.connection = connection
        self.driver = driver
        self.logger = logger
        // Data may be buffered in the stream before the TCP side is ready.
        self.streamReadable = stream != nil
    }

    /// Gives a bridge created while no stream could be opened its stream.
    func attach(stream: StreamID) {
        self.stream = stream
        pumpTCPToStream()
    }

    /// Queues `bytes` on the stream ahead of everything the TCP side sends; with
    /// `whenConnected`, only once the TCP connection is up (the device's ok reply).
    func sendFirst(_ bytes: ByteBuffer, whenConnected: Bool = false) {
        if whenConnected {
            preambleOnActive = bytes
            return
        }
        var combined = bytes
        if var pending = pendingToStream { combined.writeBuffer(&pending) }
        pendingToStream = combined
    }

    /// Holds stream -> TCP until the device's reply arrives; `onReply` hears its status.
    /// Anything but `.ok` resets the TCP connection.
    func awaitReply(_ onReply: @escaping (StreamTargetReply.Status) -> Void) {
        downstream = .awaitingReply(ByteBuffer())
        self.onReply = onReply
    }

    // MARK: stream side (called by the tunnel service)

    func handle(_ event: ConnectionEvent) {
        switch event {
        case .streamReadable:
            streamReadable = true
            pumpStreamToTCP()
        case .streamWritable:
            pumpTCPToStream()
        case .streamReset(_, let code):
            logger.debug(
                "stream reset by peer", metadata: ["stream": "\(stream.map { "\($0)" } ?? "-")", "code": "\(code)"])
            streamGone = true
            abortTCP()
            if case .draining = phase { finish() }
        case .streamClosed:
            // Both directions ended: TCP closes by itself once the output half-close (queued
            // behind the last data) completes. Closing here would drop unwritten data.
            streamGone = true
            if case .draining = phase { finish() }
        default:
            break
        }
    }

    /// The whole connection is gone: reset the TCP side.
    func connectionClosed() {
        streamGone = true
        abortTCP()
    }

    /// The outbound TCP connection could not be made (device side): the bridge lets go of the
    /// stream, which the tunnel service answers with a failure reply.
    func connectFailed(_ error: Error) {
        logger.debug("TCP connect failed", metadata: ["error": "\(error)"])
        streamGone = true
        finish()
    }

    // MARK: ChannelHandler

    package func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    package func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    package func channelActive(context: ChannelHandlerContext) {
        context.fireChannelActive()
        if streamGone {
            abortTCP()  // the peer reset the stream while we were connecting
            return
        }
        if let preamble = preambleOnActive {
            preambleOnActive = nil
            sendFirst(preamble)
            pumpTCPToStream()
        }
        pumpStreamToTCP()
    }

    package func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = Self.unwrapInboundIn(data)
        if pendingToStream == nil {
            pendingToStream = bytes
        } else {
            pendingToStream?.writeBuffer(&bytes)
        }
        pumpTCPToStream()
    }

    package func read(context: ChannelHandlerContext) {
        if pendingToStream != nil {
            heldRead = true
        } else {
            context.read()
        }
    }

    package func channelWritabilityChanged(context: ChannelHandlerContext) {
        context.fireChannelWritabilityChanged()
        if context.channel.isWritable { pumpStreamToTCP() }
    }

    package func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed {
            tcpInputEnded()
        }
        context.fireUserInboundEventTriggered(event)
    }

    package func errorCaught(context: ChannelHandlerContext, error: Error) {
        logger.debug("TCP error", metadata: ["error": "\(error)"])
        tcpFailed = true
        context.close(promise: nil)
    }

    package func channelInactive(context: ChannelHandlerContext) {
        let finReceived: Bool
        if case .finReceived = downstream { finReceived = true } else { finReceived = false }
        if !tcpFailed && finReceived, case .open = upstream {
            // After our own output half-close, NIO turns the peer's EOF into a full close
            // without an `inputClosed` event: this is that EOF.
            tcpInputEnded()
        }
        switch (upstream, finReceived) {
        case (.inputClosed, true) where !streamGone:
            // Both sides ended cleanly but TCP bytes still wait for stream credit: keep
            // draining them, then send FIN (pumpTCPToStream finishes the bridge).
            phase = .draining
        case (.finishSent, true):
            // A clean end: both FINs through.
            finish()
        default:
            resetStream()
            finish()
        }
        context.fireChannelInactive()
    }

    // MARK: pumps

    private func tcpInputEnded() {
        if case .open = upstream { upstream = .inputClosed }
        pumpTCPToStream()
    }

    private func pumpTCPToStream() {
        guard let stream, !streamGone else { return }
        if var pending = pendingToStream {
            do {
                let accepted = try connection.write(pending, to: stream)
                pending.moveReaderIndex(forwardBy: min(accepted, pending.readableBytes))
                bytesToStream &+= UInt64(accepted)
            } catch {
                logger.debug("stream write failed", metadata: ["error": "\(error)"])
                streamGone = true
                abortTCP()
                return
            }
            driver.requestStep()
            if pending.readableBytes > 0 {
                pendingToStream = pending
                return  // wait for .streamWritable; TCP reads stay held
            }
            pendingToStream = nil
            if heldRead, let context {
                heldRead = false
                context.read()
            }
        }
        if case .inputClosed = upstream {
            upstream = .finishSent
            do {
                try connection.finish(stream)
            } catch {
                logger.debug("stream finish failed", metadata: ["error": "\(error)"])
            }
            driver.requestStep()
            if case .draining = phase { finish() }
        }
    }

    private func pumpStreamToTCP() {
        guard let stream, let context, context.channel.isActive, !streamGone else { return }
        switch downstream {
        case .finReceived: return
        case .awaitingReply: guard readReply(stream) else { return }
        case .open: break
        }
        var reads = 0
        var wrote = false
        while streamReadable, context.channel.isWritable, reads < Self.maxReadsPerPump {
            reads += 1
            let result: StreamRead
            do {
                result = try connection.read(stream, maxBytes: Self.streamReadChunk)
            } catch {
                logger.debug("stream read failed", metadata: ["error": "\(error)"])
                streamGone = true
                abortTCP()
                return
            }
            switch result {
            case .data(let bytes):
                bytesToTCP &+= UInt64(bytes.readableBytes)
                context.write(Self.wrapOutboundOut(bytes), promise: nil)
                wrote = true
            case .fin:
                streamReadable = false
                downstream = .finReceived
                // The empty write completes after everything before it: then half-close.
                let channel = context.channel
                context.writeAndFlush(Self.wrapOutboundOut(ByteBuffer()))
                    .whenComplete { _ in
                        channel.close(mode: .output, promise: nil)
                    }
                wrote = false
            case .wouldBlock:
                streamReadable = false
            }
        }
        if wrote { context.flush() }
        // Reading returned flow-control credit: let the driver send the window update.
        if reads > 0 { driver.requestStep() }
        if streamReadable && reads == Self.maxReadsPerPump && context.channel.isWritable {
            context.eventLoop.assumeIsolated().execute { self.pumpStreamToTCP() }
        }
    }

    /// Reads exactly the reply's bytes; true once the device said ok.
    private func readReply(_ stream: StreamID) -> Bool {
        guard case .awaitingReply(var buffer) = downstream else { return true }
        defer { if case .awaitingReply = downstream { downstream = .awaitingReply(buffer) } }
        while true {
            let missing: Int
            do {
                switch try StreamTargetReply.parse(&buffer) {
                case .complete(let reply):
                    downstream = .open
                    onReply?(reply.status)
                    onReply = nil
                    if reply.status == .ok { return true }
                    logger.debug("target refused", metadata: ["stream": "\(stream)", "status": "\(reply.status)"])
                    abortTCP()  // channelInactive then resets the stream
                    return false
                case .incomplete(let count):
                    missing = count
                }
            } catch {
                logger.debug("malformed target reply", metadata: ["error": "\(error)"])
                downstream = .open
                abortTCP()
                return false
            }
            guard streamReadable else { return false }
            let result: StreamRead
            do {
                result = try connection.read(stream, maxBytes: missing)
            } catch {
                streamGone = true
                downstream = .open
                abortTCP()
                return false
            }
            switch result {
            case .data(var bytes):
                buffer.writeBuffer(&bytes)
                driver.requestStep()
            case .fin:
                // The device ended the stream without a reply.
                streamReadable = false
                downstream = .open
                abortTCP()
                return false
            case .wouldBlock:
                streamReadable = false
            }
        }
    }

    private func resetStream() {
        guard let stream, !streamGone else { return }
        streamGone = true
        connection.reset(stream, errorCode: Self.tcpAbortedErrorCode)
        driver.requestStep()
    }

    /// Closes the TCP connection with RST so the local peer sees an abort, not a clean EOF.
    private func abortTCP() {
        guard let context, context.channel.isActive else { return }
        // Runs synchronously on the channel's loop, so it is in place before the close.
        _ = (context.channel as? SocketOptionProvider)?.setSoLinger(linger(l_onoff: 1, l_linger: 0))
        context.close(promise: nil)
    }

    private func finish() {
        if case .finished = phase { return }
        phase = .finished
        onFinished?(self)
        onFinished = nil
    }
}
