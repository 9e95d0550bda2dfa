// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import T2USim

@testable import T2UCore

/// A client endpoint and a device endpoint (accepting) on a simulated network of their own,
/// joined by one link both ways, with the same transport configuration.
struct EndpointHostPair {
    static let clientAddress = NetAddress(ipv4: (198, 51, 100, 1), port: 40000)
    static let deviceAddress = NetAddress(ipv4: (203, 0, 113, 1), port: 50000)

    let net: SimulatedNetwork
    let client: EndpointHost
    let device: EndpointHost
    /// The device's static public key, for `client.connect`.
    let deviceKey: [UInt8]

    init(seed: UInt64, config: TransportConfig, link: LinkConditions) {
        net = SimulatedNetwork(seed: seed)
        let clientEntropy = net.makeEntropy()
        let deviceEntropy = net.makeEntropy()
        let deviceIdentity = StaticIdentity.generate(deviceEntropy)
        deviceKey = deviceIdentity.publicKey
        client = EndpointHost(
            address: Self.clientAddress,
            options: .init(config: config, identity: .generate(clientEntropy), acceptIncoming: false),
            entropy: clientEntropy)
        device = EndpointHost(
            address: Self.deviceAddress,
            options: .init(config: config, identity: deviceIdentity, acceptIncoming: true),
            entropy: deviceEntropy)
        net.add(client)
        net.add(device)
        net.setLinks(between: Self.clientAddress, and: Self.deviceAddress, link)
    }
}
