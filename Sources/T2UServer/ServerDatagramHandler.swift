// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Logging
import NIOCore
import T2UCore

final class ServerDatagramHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>

    private let driver: ServerDriver
    private let socket: ServerSocket

    init(driver: ServerDriver, socket: ServerSocket) {
        self.driver = driver
        self.socket = socket
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        driver.received(unwrapInboundIn(data), on: socket)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        driver.flush()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // UDP errors (e.g. ICMP port unreachable surfaced as ECONNREFUSED) must not close the socket.
        driver.logger.debug("udp error", metadata: ["error": "\(error)"])
    }
}
