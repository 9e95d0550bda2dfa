// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import NIOPosix
import Synchronization
import T2UCore
import T2UDevice
import T2UNIO
import Testing

@Suite(.serialized) struct TunnelThroughDeviceTests {
    static let payload = ByteBuffer(bytes: (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 9) })

    @Test func clientWithThePasswordReachesTheDeviceService() async throws {
        let harness = try await DeviceHarness()
        let echoPort = try await harness.echo()
        var options = harness.deviceOptions(uuid: "cam-tunnel")
        options.password = "pässword"
        let agent = try DeviceAgent(options: options)
        try await agent.start()
        #expect(await eventually { await agent.isRegistered() })

        let client = try await harness.client(seed: 21)
        let tunnel = try await client.openTunnel(to: "cam-tunnel", password: "pässword")
        try await tunnel.established.get()
        #expect(await eventually { await agent.sessionCount() == 1 })
        let local = try await tunnel.listen(target: .deviceSelf(port: echoPort))
        let echoed = try await harness.roundTrip(Self.payload, via: local)
        #expect(echoed == Self.payload, "the echo must come back byte-exact")

        try await tunnel.close()
        #expect(await eventually { await agent.sessionCount() == 0 }, "a closed session must be forgotten")
        await client.close()
        await agent.shutdown()
        try await harness.close()
    }

    /// Shutting down with a session open tells the client and closes the session.
    @Test func shutdownClosesOpenSessions() async throws {
        let harness = try await DeviceHarness()
        let agent = try DeviceAgent(options: harness.deviceOptions(uuid: "cam-bye"))
        try await agent.start()
        #expect(await eventually { await agent.isRegistered() })
        let client = try await harness.client(seed: 23)
        let tunnel = try await client.openTunnel(to: "cam-bye", password: nil)
        try await tunnel.established.get()
        #expect(await eventually { await agent.sessionCount() == 1 })

        let started = NIODeadline.now()
        await agent.shutdown()
        #expect(NIODeadline.now() - started < .seconds(3), "shutdown must not hang on open sessions")
        #expect(await agent.sessionCount() == 0)
        let reason = try await tunnel.closed.get()
        guard case .peer = reason else {
            Issue.record("the client should learn the device closed, got \(reason)")
            return
        }
        await client.close()
        try await harness.close()
    }

    @Test func wrongPasswordIsRejected() async throws {
        let harness = try await DeviceHarness()
        var options = harness.deviceOptions(uuid: "cam-pw")
        options.password = "right"
        let agent = try DeviceAgent(options: options)
        try await agent.start()
        #expect(await eventually { await agent.isRegistered() })

        let client = try await harness.client(seed: 22)
        let tunnel = try await client.openTunnel(to: "cam-pw", password: "wrong")
        let reason = try await tunnel.closed.get()
        #expect(reason == .passwordRejected)
        #expect(await agent.sessionCount() == 0)
        await client.close()
        await agent.shutdown()
        try await harness.close()
    }

    /// A LAN host (127.0.0.2 here) is reachable only when --allow names it.
    @Test func lanTargetsFollowTheAllowList() async throws {
        let harness = try await DeviceHarness()
        let lanPort = try await harness.echo(host: "127.0.0.2")
        let lan = StreamTargetHeader(host: .address(NetAddress(ipv4: (127, 0, 0, 2), port: 0).host), port: lanPort)

        for allowed in [false, true] {
            var options = harness.deviceOptions(uuid: "cam-allow-\(allowed)")
            options.allow = allowed ? ["127.0.0.2:\(lanPort)"] : ["127.0.0.3"]
            let agent = try DeviceAgent(options: options)
            try await agent.start()
            #expect(await eventually { await agent.isRegistered() })
            let client = try await harness.client(seed: allowed ? 31 : 32)
            let tunnel = try await client.openTunnel(to: "cam-allow-\(allowed)", password: nil)
            try await tunnel.established.get()
            let replies = ReplyLog()
            let local = try await tunnel.service.flatSubmit { tunnel in
                tunnel.onTargetReply = { _, status in replies.append(status) }
                return tunnel.listen(target: lan)
            }.get()
            let small = ByteBuffer(bytes: Array("hello lan".utf8))
            // A refused target resets the local TCP connection (or closes it empty).
            let echoed = (try? await harness.roundTrip(small, via: local)) ?? ByteBuffer()
            if allowed {
                #expect(echoed == small, "an allowed LAN target must work")
                #expect(replies.all == [.ok])
            } else {
                #expect(echoed.readableBytes == 0, "a refused target must not carry bytes")
                #expect(await eventually { replies.all == [.refusedByPolicy] }, "got \(replies.all)")
            }
            await client.close()
            await agent.shutdown()
        }
        try await harness.close()
    }
}

/// Target replies seen on the client's loop, read from the test.
final class ReplyLog: Sendable {
    private let statuses = Mutex<[StreamTargetReply.Status]>([])
    func append(_ status: StreamTargetReply.Status) { statuses.withLock { $0.append(status) } }
    var all: [StreamTargetReply.Status] { statuses.withLock { $0 } }
}
