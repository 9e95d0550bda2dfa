// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import NIOPosix
import T2UCore
import T2UTestSupport
import Testing

@testable import T2UNIO

/// Auxiliary sockets of an `EndpointDriver` and its route table, on loopback: a session whose
/// path goes through an auxiliary socket (either side) carries a stream byte-exact, punches
/// reach `onPunch` with their socket, and closing a socket drops its routes.
@Suite(.serialized) struct AuxiliarySocketTests {
    final class Pair: Sendable {
        /// One endpoint and what the test keeps of it, on that endpoint's loop.
        final class Side {
            let driver: EndpointDriver
            /// Device only.
            var received: [UInt8] = []
            var accepted: Connection?
            var punches: [(NetAddress, Int)] = []
            /// Client only.
            var connection: Connection?
            init(driver: EndpointDriver) { self.driver = driver }
        }

        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let client: LoopOwned<Side>
        let device: LoopOwned<Side>
        let deviceKey: [UInt8]
        /// How many bytes and punches the device has seen: what the tests wait on.
        let receivedBytes = Watched(0)
        let punchCount = Watched(0)

        init(seed: UInt64) {
            let loops = Array(group.makeIterator())
            let seeds = SeededEntropy(seed: seed)
            let deviceIdentity = StaticIdentity.generate(seeds)
            deviceKey = deviceIdentity.publicKey
            device = LoopOwned(
                sending: Side(
                    driver: EndpointDriver(
                        endpoint: TransportEndpoint(
                            options: .init(config: TransportConfig(), identity: deviceIdentity, acceptIncoming: true),
                            entropy: SeededEntropy(seed: seed &+ 1)),
                        eventLoop: loops[1])),
                eventLoop: loops[1])
            client = LoopOwned(
                sending: Side(
                    driver: EndpointDriver(
                        endpoint: TransportEndpoint(
                            options: .init(
                                config: TransportConfig(), identity: .generate(seeds), acceptIncoming: false),
                            entropy: SeededEntropy(seed: seed &+ 2)),
                        eventLoop: loops[0])),
                eventLoop: loops[0])
        }

        func start() async throws -> (client: NetAddress, device: NetAddress) {
            let deviceAddress = try #require(NetAddress(try await device.flatSubmit { $0.driver.start() }.get()))
            let clientAddress = try #require(NetAddress(try await client.flatSubmit { $0.driver.start() }.get()))
            let (receivedBytes, punchCount) = (self.receivedBytes, self.punchCount)
            try await device.submit { side in
                let device = side.driver
                device.onPunch = { _, address, socket in
                    side.punches.append((address, socket))
                    punchCount.set(side.punches.count)
                }
                device.onAccept = { connection in
                    side.accepted = connection
                    device.setEventHandler(for: connection) { _ in
                        while case .data(let bytes) = (try? connection.read(StreamID(rawValue: 0), maxBytes: 1 << 16))
                            ?? .wouldBlock
                        {
                            side.received += Array(bytes.readableBytesView)
                        }
                        receivedBytes.set(side.received.count)
                        device.requestStep()
                    }
                }
            }.get()
            return (clientAddress, deviceAddress)
        }

        func auxiliary(onDevice: Bool, count: Int) async throws -> [(Int, NetAddress)] {
            try await (onDevice ? device : client).flatSubmit { side in
                let driver = side.driver
                return driver.openAuxiliarySockets(count: count).assumeIsolated().map { indices in
                    indices.compactMap { index in
                        driver.auxiliaryAddress(index).flatMap(NetAddress.init).map { (index, $0) }
                    }
                }.nonisolated()
            }.get()
        }

        /// Connects to `address`, writes `payload` on one stream; waits until the device read it.
        func transfer(to address: NetAddress, payload: [UInt8]) async throws {
            let deviceKey = self.deviceKey
            try await client.submit { side in
                let client = side.driver
                let connection = try client.connect(
                    to: SocketAddress(address), remoteStaticKey: deviceKey, password: nil)
                var offset = 0
                var stream: StreamID?
                client.setEventHandler(for: connection) { _ in
                    guard connection.state == .established else { return }
                    if stream == nil { stream = try? connection.openStream() }
                    guard let id = stream else { return }
                    while offset < payload.count {
                        let chunk = ByteBuffer(bytes: payload[offset..<min(payload.count, offset + 32_768)])
                        let n = (try? connection.write(chunk, to: id)) ?? 0
                        if n == 0 { break }
                        offset += n
                    }
                    client.requestStep()
                }
                side.connection = connection
            }.get()
            // On a timeout the callers' expectations say how much arrived.
            _ = try? await receivedBytes.wait(for: "\(payload.count) bytes at the device", timeout: .seconds(15)) {
                $0 >= payload.count
            }
        }

        func close() async throws {
            try await client.flatSubmit { $0.driver.close() }.get()
            try await device.flatSubmit { $0.driver.close() }.get()
            try await group.shutdownGracefully()
        }
    }

    @Test func sessionThroughTheDevicesAuxiliarySocketIsByteExact() async throws {
        let pair = Pair(seed: 0xA0C5)
        let (clientAddress, _) = try await pair.start()
        let sockets = try await pair.auxiliary(onDevice: true, count: 3)
        #expect(sockets.count == 3)
        let (index, auxAddress) = sockets[1]
        let payload = SeededEntropy(seed: 0xA0C6).bytes(1 << 20)
        try await pair.transfer(to: auxAddress, payload: payload)
        let received = try await pair.device.submit { $0.received }.get()
        #expect(received.count == payload.count)
        #expect(received == payload)
        // The device answers through the socket the client reached: route recorded, and the
        // client still sees the auxiliary address as its peer.
        #expect(try await pair.device.submit { $0.driver.route(to: clientAddress) }.get() == index)
        #expect(try await pair.client.submit { $0.connection?.peerAddress }.get() == auxAddress)
        #expect(try await pair.device.submit { $0.driver.auxiliarySocketsInUse() }.get() == [index])
        // Closing the other sockets keeps the session's; closing it drops the route.
        try await pair.device.submit { device in
            device.driver.closeAuxiliarySockets(sockets.map(\.0).filter { $0 != index })
            #expect(device.driver.auxiliarySocketCount == 1)
            device.driver.closeAuxiliarySockets([index])
            #expect(device.driver.route(to: clientAddress) == 0)
        }.get()
        try await pair.close()
    }

    @Test func sessionRoutedThroughTheClientsAuxiliarySocketIsByteExact() async throws {
        let pair = Pair(seed: 0xA0D5)
        let (_, deviceAddress) = try await pair.start()
        let sockets = try await pair.auxiliary(onDevice: false, count: 2)
        let (index, auxAddress) = try #require(sockets.last)
        try await pair.client.submit { $0.driver.setRoute(deviceAddress, socket: index) }.get()
        let payload = SeededEntropy(seed: 0xA0D6).bytes(512 * 1024)
        try await pair.transfer(to: deviceAddress, payload: payload)
        let received = try await pair.device.submit { $0.received }.get()
        #expect(received == payload, "\(received.count) of \(payload.count) bytes")
        // The device saw the client at its auxiliary socket's address.
        let peer = try await pair.device.submit { $0.accepted?.peerAddress }.get()
        #expect(peer == auxAddress)
        try await pair.close()
    }

    @Test func punchesReachOnPunchWithTheirSocket() async throws {
        let pair = Pair(seed: 0xA0E5)
        let (clientAddress, deviceAddress) = try await pair.start()
        let sockets = try await pair.auxiliary(onDevice: true, count: 1)
        let (index, auxAddress) = try #require(sockets.first)
        try await pair.client.submit { client in
            var punch = ByteBuffer()
            TraversalPunch.write(sessionID: 9, entropy: SeededEntropy(seed: 1), into: &punch)
            client.driver.send(punch, to: deviceAddress, socket: 0)
            client.driver.send(punch, to: auxAddress, socket: 0)
        }.get()
        // On a timeout the expectations below say what came.
        _ = try? await pair.punchCount.wait(for: "2 punches", timeout: .seconds(5)) { $0 >= 2 }
        let punches = try await pair.device.submit { $0.punches }.get()
        #expect(punches.count == 2)
        #expect(Set(punches.map(\.1)) == [0, index])
        #expect(punches.allSatisfy { $0.0 == clientAddress })
        // The auxiliary one recorded a route; the transport never saw either.
        #expect(try await pair.device.submit { $0.driver.route(to: clientAddress) }.get() == index)
        #expect(try await pair.device.submit { $0.driver.endpoint.droppedDatagrams }.get() == 0)
        try await pair.close()
    }
}
