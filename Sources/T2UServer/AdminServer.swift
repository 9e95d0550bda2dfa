// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// One request to the admin endpoint, as the routes need it.
package struct AdminRequest: Sendable, Equatable {
    package var method: HTTPMethod
    package var path: String
    /// Query parameters, percent-decoded (the last of a repeated name wins).
    package var query: [String: String]
    /// The `Authorization` header, if any.
    package var authorization: String?

    package init(method: HTTPMethod, path: String, query: [String: String] = [:], authorization: String? = nil) {
        self.method = method
        self.path = path
        self.query = query
        self.authorization = authorization
    }

    init(_ head: HTTPRequestHead) {
        let components = URLComponents(string: head.uri)
        method = head.method
        path =
            components?.path
            ?? String(head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
        var query: [String: String] = [:]
        for item in components?.queryItems ?? [] { query[item.name] = item.value ?? "" }
        self.query = query
        authorization = head.headers.first(name: "Authorization")
    }

    /// GET and HEAD only read.
    package var isRead: Bool { method == .GET || method == .HEAD }
}

/// One answer of the admin endpoint.
package struct AdminResponse: Sendable {
    package var status: HTTPResponseStatus
    package var contentType: String
    package var body: [UInt8]
    /// Further headers (the dashboard's Content-Security-Policy).
    package var headers: [(String, String)]

    package init(status: HTTPResponseStatus, contentType: String, body: [UInt8], headers: [(String, String)] = []) {
        self.status = status
        self.contentType = contentType
        self.body = body
        self.headers = headers
    }

    static func text(_ status: HTTPResponseStatus, _ text: String) -> AdminResponse {
        AdminResponse(status: status, contentType: "text/plain; charset=utf-8", body: Array(text.utf8))
    }
}

/// The admin HTTP listener: one request per connection, small requests, a deadline per
/// connection. What to answer (including 405 for methods a route does not take) is the caller's
/// `respond`.
enum AdminServer {
    /// Requests (head and body) larger than this close the connection.
    static let maxRequestBytes = 8192
    /// A connection that has not completed its request by then is closed.
    static let connectionTimeout = TimeAmount.seconds(10)

    static func bind(
        _ address: AdminAddress, group: EventLoopGroup,
        respond: @escaping @Sendable (AdminRequest) -> EventLoopFuture<AdminResponse>
    ) async throws -> Channel {
        try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.backlog, value: 64)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try addHandlers(to: channel.pipeline.syncOperations, respond: respond)
                }
            }
            .bind(host: address.host, port: address.port)
            .get()
    }

    /// One connection's pipeline (a function of its own so tests can build it on an `EmbeddedChannel`).
    static func addHandlers(
        to sync: ChannelPipeline.SynchronousOperations,
        respond: @escaping @Sendable (AdminRequest) -> EventLoopFuture<AdminResponse>
    ) throws {
        try sync.addHandler(AdminRequestLimit(maxBytes: maxRequestBytes))
        try sync.addHandler(ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .dropBytes)))
        try sync.addHandler(HTTPResponseEncoder())
        try sync.addHandler(AdminHTTPHandler(respond: respond, timeout: connectionTimeout))
    }
}

/// Closes connections that send more than `maxBytes` in total.
final class AdminRequestLimit: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let maxBytes: Int
    private var received = 0

    init(maxBytes: Int) { self.maxBytes = maxBytes }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        received += unwrapInboundIn(data).readableBytes
        guard received <= maxBytes else { return context.close(promise: nil) }
        context.fireChannelRead(data)
    }
}

final class AdminHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let respond: @Sendable (AdminRequest) -> EventLoopFuture<AdminResponse>
    private let timeout: TimeAmount
    private var head: HTTPRequestHead?
    private var answered = false
    private var deadline: Scheduled<Void>?

    init(respond: @escaping @Sendable (AdminRequest) -> EventLoopFuture<AdminResponse>, timeout: TimeAmount) {
        self.respond = respond
        self.timeout = timeout
    }

    func channelActive(context: ChannelHandlerContext) {
        let channel = context.channel
        deadline = context.eventLoop.scheduleTask(in: timeout) { channel.close(promise: nil) }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        deadline?.cancel()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): self.head = head
        case .body: break  // no route reads a body; AdminRequestLimit bounds what we would skip
        case .end: answer(context: context)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // Malformed HTTP: answer 400 if we still can, then close. A connection the request
        // limit or the deadline already closed gets nothing (the decoder's error at its EOF).
        guard !answered, context.channel.isActive else { return context.close(promise: nil) }
        write(.text(.badRequest, "bad request\n"), head: nil, context: context)
    }

    private func answer(context: ChannelHandlerContext) {
        guard !answered, let head else { return }
        answered = true
        respond(AdminRequest(head)).hop(to: context.eventLoop).assumeIsolated().whenComplete { result in
            switch result {
            case .success(let response): self.write(response, head: head, context: context)
            case .failure(let error):
                self.write(.text(.serviceUnavailable, "unavailable: \(error)\n"), head: head, context: context)
            }
        }
    }

    private func write(_ response: AdminResponse, head request: HTTPRequestHead?, context: ChannelHandlerContext) {
        answered = true
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: response.contentType)
        for (name, value) in response.headers { headers.add(name: name, value: value) }
        headers.add(name: "Content-Length", value: String(response.body.count))
        headers.add(name: "Connection", value: "close")
        let head = HTTPResponseHead(version: request?.version ?? .http1_1, status: response.status, headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        if request?.method != .HEAD {
            context.write(
                wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: response.body)))),
                promise: nil)
        }
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
    }
}
