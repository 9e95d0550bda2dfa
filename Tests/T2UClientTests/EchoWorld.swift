// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import T2UServer

/// A loopback server, one device agent (optionally with a password, optionally not started yet)
/// and an echo service for the device to forward to: the fixture most client tests start from.
struct EchoWorld {
    let server: TestServer
    let device: TestDevice
    let echo: EchoService

    static func make(
        uuid: String = "cam-1", password: String? = nil, startDevice: Bool = true
    ) async throws -> EchoWorld {
        let server = TestServer()
        try await server.start()
        let device = try TestDevice(uuid: uuid, server: server.address, password: password)
        if startDevice { try await device.start() }
        let echo = EchoService()
        try await echo.start()
        return EchoWorld(server: server, device: device, echo: echo)
    }

    func stop() async {
        await device.stop()
        await echo.stop()
        await server.stop()
    }
}
