// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

// What an app or an operator outside this package writes with the Swift libraries: an embedded
// server, a device agent and a client mapping a port. Only typechecked (Tests/publicapi/run.sh),
// never run: it proves the public API is enough without `package` access.

import Logging
import T2UClient
import T2UCore
import T2UDevice
import T2UServer

func embedEverything() async throws {
    var config = ServerConfig()
    config.relayBytesPerSecond = 1e9
    var options = ServerRunner.Options()
    options.bindHost = "127.0.0.1"
    options.port = 0
    let server = ServerRunner(config: config, options: options, logger: Logger(label: "app.server"))
    let addresses = try await server.start()
    guard let serverPort = addresses.main.port.map(UInt16.init) else { return }
    let relayed = try await server.counters().relayedBytes
    let serverKey = config.identity.publicKey

    var deviceOptions = DeviceAgentOptions(uuid: "cam-1", server: "127.0.0.1", serverPort: serverPort, serverKey: nil)
    deviceOptions.password = "secret"
    let device = try DeviceAgent(options: deviceOptions)
    try await device.start()
    let registered = await device.isRegistered()
    try await device.update(password: "new secret")

    var clientOptions = T2UClientOptions(server: "127.0.0.1", serverPort: serverPort, serverKey: nil)
    clientOptions.relayFirst = true
    clientOptions.transport.maxStreamWindow = 64 << 20
    clientOptions.knownDevices = .memory
    let client = try await T2UClient(options: clientOptions)
    let status = await client.status()
    let info = try await client.query("cam-1")
    let localPort = try await client.addPort(
        PortMappingRequest(uuid: "cam-1", remotePort: 80, password: "new secret"))
    let (portStatus, path) = await client.portStatus(localPort)
    for await event in client.events {
        print(event)
        break
    }
    let found = try await client.search(timeout: .seconds(1))
    print(relayed, serverKey.count, registered, status, info.online, portStatus, path?.relayed ?? false, found.count)
    await client.shutdown()
    await device.shutdown()
    try await server.shutdown()
}
