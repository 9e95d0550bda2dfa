// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import T2UCore

/// The agent's end of one fallback stream, above TLS: sends the upgrade request, checks the
/// `101` answer, then turns frames into datagrams for `ServerStream`. Any protocol error
/// closes the stream (the selector reconnects later).
final class ServerStreamHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let owner: NIOLoopBound<ServerStream>
    private let generation: UInt64
    private let host: String
    private var head: ByteBuffer?
    private var upgraded = false
    private var deframer: StreamDeframer

    init(owner: NIOLoopBound<ServerStream>, generation: UInt64, host: String, maxFrame: Int) {
        self.owner = owner
        self.generation = generation
        self.host = host
        self.deframer = StreamDeframer(maxFrame: maxFrame)
    }

    func channelActive(context: ChannelHandlerContext) {
        var request = context.channel.allocator.buffer(capacity: 128)
        request.writeBytes(StreamUpgrade.request(host: host))
        context.writeAndFlush(Self.wrapOutboundOut(request), promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = Self.unwrapInboundIn(data)
        do {
            if !upgraded {
                if head == nil { head = bytes } else { head!.writeBuffer(&bytes) }
                guard let length = try StreamUpgrade.headLength(head!.readableBytesView) else { return }
                try StreamUpgrade.checkResponse(head!.readableBytesView.prefix(length))
                head!.moveReaderIndex(forwardBy: length)
                bytes = head!
                head = nil
                upgraded = true
                owner.value.streamUpgraded(generation: generation)
            }
            let owner = self.owner.value
            try deframer.feed(bytes) { owner.received($0, generation: generation) }
        } catch {
            owner.value.streamFailed(generation: generation, reason: "\(error)")
            context.close(promise: nil)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        owner.value.readBatchComplete(generation: generation)
    }

    func channelInactive(context: ChannelHandlerContext) {
        owner.value.streamClosed(generation: generation)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        owner.value.streamFailed(generation: generation, reason: "\(error)")
        context.close(promise: nil)
    }
}
