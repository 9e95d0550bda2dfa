// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import T2USim

@testable import T2UCore

/// A client and a device agent on a simulated link, each with its own seeded randomness.
struct TransferScenario {
    static let clientAddress = NetAddress(ipv4: (198, 51, 100, 10), port: 40000)
    static let deviceAddress = NetAddress(ipv4: (203, 0, 113, 20), port: 50000)

    let network: SimulatedNetwork
    let client: TransferHost
    let device: TransferHost
    let seed: UInt64

    init(
        seed: UInt64, config: TransportConfig = TransportConfig(), streams: Int, bytesPerStream: Int,
        deviceBytesPerStream: Int? = nil, link: LinkConditions, clientPassword: [UInt8]? = nil,
        devicePassword: [UInt8]? = nil, clientPathPolicy: PathPolicy = .any
    ) {
        self.seed = seed
        network = SimulatedNetwork(seed: seed)
        let clientEntropy = SeededEntropy(seed: seed &+ 1)
        let deviceEntropy = SeededEntropy(seed: seed &+ 2)
        let deviceIdentity = StaticIdentity.generate(deviceEntropy)
        let clientEndpoint = TransportEndpoint(
            options: .init(config: config, identity: .generate(clientEntropy), acceptIncoming: false),
            entropy: clientEntropy)
        let deviceEndpoint = TransportEndpoint(
            options: .init(config: config, identity: deviceIdentity, acceptIncoming: true, password: devicePassword),
            entropy: deviceEntropy)
        client = TransferHost(
            address: Self.clientAddress, endpoint: clientEndpoint, seed: seed, isInitiator: true,
            streamCount: streams, bytesPerStream: bytesPerStream)
        device = TransferHost(
            address: Self.deviceAddress, endpoint: deviceEndpoint, seed: seed, isInitiator: false,
            streamCount: streams, bytesPerStream: deviceBytesPerStream ?? bytesPerStream)
        network.add(client)
        network.add(device)
        network.setLink(from: Self.clientAddress, to: Self.deviceAddress, link)
        network.setLink(from: Self.deviceAddress, to: Self.clientAddress, link)
        client.connect(
            to: Self.deviceAddress, key: deviceIdentity.publicKey, password: clientPassword,
            pathPolicy: clientPathPolicy, now: network.now)
    }

    /// Runs until both sides received every stream completely, or `limit` of virtual time.
    @discardableResult
    func runTransfer(limit: Nanos) -> Bool {
        network.run(until: network.now + limit) { !(client.allStreamsReceived && device.allStreamsReceived) }
        return client.allStreamsReceived && device.allStreamsReceived
    }

    /// Every stream's digest matches in both directions.
    var mismatchedStreams: [StreamID] {
        var bad: [StreamID] = []
        for (id, digest) in client.sentDigests where device.receivedDigest(id) != digest { bad.append(id) }
        for (id, digest) in device.sentDigests where client.receivedDigest(id) != digest { bad.append(id) }
        return bad.sorted()
    }
}
