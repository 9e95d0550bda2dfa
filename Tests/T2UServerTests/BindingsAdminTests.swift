// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Logging
import NIOCore
import NIOPosix
import T2UCore
import Testing

@testable import T2UServer

/// Operator release over the admin endpoint: no token configured, wrong token, right token.
@Suite(.serialized) struct BindingsAdminTests {
    static let token = Array("s3cret-admin-token-0123456789".utf8)
    static let key = [UInt8](repeating: 0xAB, count: 32)

    func withServer(
        token: [UInt8]?, _ body: (ServerRunner, SocketAddress, EventLoopGroup) async throws -> Void
    ) async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        var options = ServerRunner.Options()
        options.bindHost = "127.0.0.1"
        options.port = 0
        options.admin = AdminAddress(host: "127.0.0.1", port: 0)
        options.adminToken = token
        let runner = ServerRunner(config: ServerConfig(), options: options, logger: Logger(label: "test"), group: group)
        try await runner.start()
        let server = StaticIdentity.generate(SeededEntropy(seed: 1))
        let decision = try await runner.withBindings { bindings in
            bindings.admit(
                DeviceRegistration(uuid: "CAM 1", publicKey: Self.key, cookie: []), server: server, now: .zero)
        }
        #expect(decision == .accepted(created: true, rebound: false))
        do {
            try await body(runner, try #require(runner.adminAddress), group)
        } catch {
            try await runner.shutdown()
            throw error
        }
        try await runner.shutdown()
        try await group.shutdownGracefully()
    }

    func post(
        _ path: String, authorization: String?, _ admin: SocketAddress, _ group: EventLoopGroup
    ) async throws -> (Int, String) {
        let header = authorization.map { "Authorization: \($0)\r\n" } ?? ""
        return try await rawHTTP(
            Array("POST \(path) HTTP/1.1\r\nHost: t\r\n\(header)Content-Length: 0\r\n\r\n".utf8), to: admin,
            group: group)
    }

    func bound(_ runner: ServerRunner) async throws -> [UInt8]? {
        try await runner.withBindings { $0.boundKey(uuid: "CAM 1") }
    }

    /// UUIDs are untrusted: the JSON of GET /bindings escapes quotes and control characters.
    @Test func uuidsAreEscapedInJSON() {
        #expect(BindingsAdmin.json("a\"b\\c\n\u{1}\u{7F}") == "\"a\\\"b\\\\c\\n\\u0001\\u007f\"")
        #expect(BindingsAdmin.bearer("bearer abc") == Array("abc".utf8))
        #expect(BindingsAdmin.bearer("Bearer ") == nil && BindingsAdmin.bearer(nil) == nil)
    }

    @Test func withoutATokenFileReleaseIsForbidden() async throws {
        try await withServer(token: nil) { runner, admin, group in
            let (code, body) = try await post(
                "/bindings/release?uuid=CAM%201",
                authorization: "Bearer \(String(decoding: Self.token, as: UTF8.self))", admin, group)
            #expect(code == 403 && body.contains("--admin-token-file"))
            #expect(try await bound(runner) == Self.key)
        }
    }

    @Test func aWrongOrMissingTokenIsUnauthorized() async throws {
        try await withServer(token: Self.token) { runner, admin, group in
            for authorization in [
                nil, "Bearer wrong", "Bearer " + String(decoding: Self.token.dropLast(), as: UTF8.self),
                "Basic " + String(decoding: Self.token, as: UTF8.self),
            ] {
                let (code, _) = try await post(
                    "/bindings/release?uuid=CAM%201", authorization: authorization, admin, group)
                #expect(code == 401, "\(authorization ?? "no header")")
            }
            #expect(try await bound(runner) == Self.key)
            // GET cannot release.
            #expect(try await httpGet("/bindings/release?uuid=CAM%201", admin, group: group).0 == 405)
        }
    }

    @Test func theRightTokenReleasesAndGetShowsTheKey() async throws {
        try await withServer(token: Self.token) { runner, admin, group in
            let (shown, json) = try await httpGet("/bindings?uuid=CAM%201", admin, group: group)
            #expect(shown == 200 && json.contains(Hex.encode(Self.key)) && json.contains("\"uuid\":\"CAM 1\""))
            let bearer = "Bearer " + String(decoding: Self.token, as: UTF8.self)
            #expect(try await post("/bindings/release?uuid=CAM-9", authorization: bearer, admin, group).0 == 404)
            let (code, _) = try await post("/bindings/release?uuid=CAM%201", authorization: bearer, admin, group)
            #expect(code == 200)
            #expect(try await bound(runner) == nil)
            #expect(try await runner.withBindings { $0.counters.released } == 1)
            #expect(try await httpGet("/bindings?uuid=CAM%201", admin, group: group).0 == 404)
            #expect(try await post("/metrics", authorization: bearer, admin, group).0 == 405)
        }
    }
}
