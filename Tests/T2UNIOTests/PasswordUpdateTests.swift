// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import NIOPosix
import T2UCore
import T2UNIO
import Testing

/// `TransportEndpoint.update(password:)` on a device endpoint over loopback (t2usvr's SIGHUP):
/// new handshakes need the new password, the session made under the old one goes on.
@Suite struct PasswordUpdateTests {
    /// A client handshake with `password`; its tunnel's futures tell how it ended.
    struct Attempt: Sendable {
        let service: LoopOwned<TunnelService>
        let established: EventLoopFuture<Void>
        let closed: EventLoopFuture<ConnectionCloseReason>
    }

    static func connect(
        _ client: LoopOwned<EndpointDriver>, to address: SocketAddress, key: [UInt8], password: String?
    ) async throws -> Attempt {
        try await client.submit { driver in
            let service = TunnelService(
                driver: driver,
                connection: try driver.connect(
                    to: address, remoteStaticKey: key, password: password.map { Array($0.utf8) }))
            return Attempt(
                service: LoopOwned(service, eventLoop: driver.eventLoop), established: service.established,
                closed: service.closed)
        }.get()
    }

    @Test func aNewPasswordAppliesToNewHandshakesOnly() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let loops = Array(group.makeIterator())
        let seeds = SeededEntropy(seed: 0x9A55)
        let deviceIdentity = StaticIdentity.generate(seeds)
        let clientIdentity = StaticIdentity.generate(seeds)
        let device = LoopOwned(
            sending: EndpointDriver(
                endpoint: TransportEndpoint(
                    options: .init(
                        config: TransportConfig(), identity: deviceIdentity, acceptIncoming: true,
                        password: Array("old".utf8)),
                    entropy: SeededEntropy(seed: 0x9A56)),
                eventLoop: loops[0]),
            eventLoop: loops[0])
        let client = LoopOwned(
            sending: EndpointDriver(
                endpoint: TransportEndpoint(
                    options: .init(config: TransportConfig(), identity: clientIdentity, acceptIncoming: false),
                    entropy: SeededEntropy(seed: 0x9A57)),
                eventLoop: loops[1]),
            eventLoop: loops[1])
        let address = try await device.flatSubmit { $0.start() }.get()
        _ = try await client.flatSubmit { $0.start() }.get()
        let key = deviceIdentity.publicKey

        let before = try await Self.connect(client, to: address, key: key, password: "old")
        try await before.established.get()

        try await device.submit { $0.endpoint.update(password: Array("new".utf8)) }.get()
        let stale = try await Self.connect(client, to: address, key: key, password: "old")
        #expect(try await stale.closed.get() == .passwordRejected)
        let none = try await Self.connect(client, to: address, key: key, password: nil)
        #expect(try await none.closed.get() == .passwordRejected)
        let after = try await Self.connect(client, to: address, key: key, password: "new")
        try await after.established.get()

        // The session of the old password is still up at both ends.
        #expect(try await before.service.submit { $0.connection.state == .established }.get())
        #expect(
            try await device.submit { $0.endpoint.connections.filter { $0.state == .established }.count }.get() == 2)

        try await client.flatSubmit { $0.close() }.get()
        try await device.flatSubmit { $0.close() }.get()
        try await group.shutdownGracefully()
    }
}
