// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import NIOPosix
import T2UCore
import T2UDevice
import Testing

@Suite(.serialized) struct RegistrationTests {
    @Test func registersWithoutServerKey() async throws {
        let harness = try await DeviceHarness()
        let agent = try DeviceAgent(options: harness.deviceOptions(uuid: "cam-reg-1"))
        #expect(await agent.isRegistered() == false, "not started yet")
        try await agent.start()
        #expect(await eventually { await agent.isRegistered() })
        let client = try await harness.client(seed: 11)
        let query = try await client.query("cam-reg-1")
        #expect(query.online)
        #expect(query.publicKey == agent.publicKey, "the server must hand out the device's key")
        await client.close()
        await agent.shutdown()
        #expect(await agent.isRegistered() == false)
        try await harness.close()
    }

    @Test func registersWithTheRightServerKeyOnly() async throws {
        let harness = try await DeviceHarness()
        let otherKey = Hex.encode(StaticIdentity.generate(SystemEntropy()).publicKey)
        let good = try DeviceAgent(options: harness.deviceOptions(uuid: "cam-key-good", serverKey: harness.serverKey))
        let wrong = try DeviceAgent(options: harness.deviceOptions(uuid: "cam-key-wrong", serverKey: otherKey))
        let none = try DeviceAgent(options: harness.deviceOptions(uuid: "cam-key-none"))
        try await good.start()
        try await wrong.start()
        try await none.start()
        #expect(await eventually { await good.isRegistered() })
        // Without a key the agent trusts the server's own (with a warning).
        #expect(await eventually { await none.isRegistered() })
        // Give the pinned-to-another-key one as long as the others needed, and more: it must
        // never register, and nothing announces a registration that does not happen.
        try await Task.sleep(nanoseconds: 1_500_000_000)
        #expect(await wrong.isRegistered() == false, "a server with another key must be refused")
        // A malformed svrkey does not start at all, and says what it must be.
        #expect(throws: DeviceAgentError.invalidOptions(ServerPublicKey.requirement)) {
            try DeviceAgent(options: harness.deviceOptions(uuid: "cam-key-bad", serverKey: "sesame"))
        }
        await good.shutdown()
        await wrong.shutdown()
        await none.shutdown()
        try await harness.close()
    }

    @Test func invalidAllowEntryFailsNamingIt() async throws {
        var options = DeviceAgentOptions(uuid: "cam", server: "127.0.0.1", serverPort: 7000)
        options.allow = ["127.0.0.2:80", "not-an-address:x"]
        do {
            _ = try DeviceAgent(options: options)
            Issue.record("an invalid --allow entry must fail")
        } catch let error as DeviceAgentError {
            guard case .invalidAllowEntry(let entry, _) = error else {
                Issue.record("wrong error \(error)")
                return
            }
            #expect(entry == "not-an-address:x")
            #expect(error.description.contains("not-an-address:x"))
        }
    }

    @Test func shutdownReleasesThePorts() async throws {
        let harness = try await DeviceHarness()
        let udpPort = try await harness.freeUDPPort()
        let discoveryPort = try await harness.freeUDPPort()
        var options = harness.deviceOptions(uuid: "cam-ports")
        options.udpPort = udpPort
        options.discoveryAddress = "239.255.75.50"
        options.discoveryPort = discoveryPort
        let agent = try DeviceAgent(options: options)
        try await agent.start()
        #expect(await eventually { await agent.isRegistered() })
        // While running, the agent's port is taken.
        await #expect(throws: (any Error).self) {
            try await DatagramBootstrap(group: harness.group).bind(host: "0.0.0.0", port: Int(udpPort)).get().close()
        }
        await agent.shutdown()
        for port in [udpPort, discoveryPort] {
            let channel = try await DatagramBootstrap(group: harness.group).bind(host: "0.0.0.0", port: Int(port)).get()
            try await channel.close()
        }
        try await harness.close()
    }
}
