// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Foundation
import Logging
import NIOCore
import NIOPosix
import T2UCheck
import T2UClient
import T2UCore
import T2UDevice
import T2UServer

/// The demo's steps. Prints progress lines as it goes.
package struct DemoRun {
    package let bytes: UInt64
    package let relay: Bool
    package let progress: DemoProgress
    /// Keep server and device for outside clients: fixed UUID, no password (flow.c sends none).
    package let serve: Bool
    /// 0: any free port.
    package let serverPort: Int
    /// When `serverPort` (a default, not the user's choice) is taken, use free ports instead.
    package let serverPortFallback: Bool
    private var password: String? { serve ? nil : "demo-password" }

    /// Fixed defaults for `--serve`, so the printed commands stay the same from run to run (the
    /// manual's 7000).
    package static let preferredServerPort = 7000
    package static let preferredServicePort = 7080

    package init(
        bytes: UInt64, relay: Bool, progress: DemoProgress, serve: Bool = false, serverPort: Int = 0,
        serverPortFallback: Bool = false
    ) {
        self.bytes = bytes
        self.relay = relay
        self.progress = progress
        self.serve = serve
        self.serverPort = serverPort
        self.serverPortFallback = serverPortFallback
    }

    /// Runs the transfers; `whileServing` (with `serve`) runs after them, before anything stops.
    package func run(
        whileServing: (([DemoPathResult], DemoEndpoints) async -> Void)? = nil
    ) async throws -> [DemoPathResult] {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        var cleanups: [@Sendable () async -> Void] = [{ try? await group.shutdownGracefully() }]
        func cleanUp() async {
            for cleanup in cleanups.reversed() { await cleanup() }
            cleanups = []
        }
        do {
            await progress.set("starting the server")
            var config = ServerConfig()
            // The production per-session relay budget (100 Mbit/s) would measure the budget, not
            // the relay; this server is private to the demo.
            config.relayBytesPerSecond = 10e9
            config.relayBurstBytes = 64e6
            let (server, addresses) = try await startServer(config: config)
            cleanups.append { try? await server.shutdown() }
            guard let serverPort = addresses.main.port, let observationPort = addresses.observation.port else {
                throw DemoFailure("the server has no port")
            }
            say("server   127.0.0.1:\(serverPort) (UDP)")

            await progress.set("starting the device's TCP service")
            let sink = try await DemoSink.start(group: group)
            cleanups.append { await sink.close() }
            var sinkResults = sink.results.makeAsyncIterator()

            await progress.set("starting the device agent")
            let uuid = serve ? "demo" : "demo-\(String(UInt64.random(in: 0...UInt64.max), radix: 16))"
            // The agents pin the embedded server's public key, as deployments should.
            let serverKey = Hex.encode(config.identity.publicKey)
            var deviceOptions = DeviceAgentOptions(
                uuid: uuid, server: "127.0.0.1", serverPort: UInt16(serverPort), serverKey: serverKey)
            deviceOptions.password = password
            deviceOptions.extra = "t2u demo sink"
            deviceOptions.discoveryAddress = nil
            let device = try DeviceAgent(options: deviceOptions)
            try await device.start()
            cleanups.append { await device.shutdown() }
            await progress.set("waiting for the device to register with the server")
            while await !device.isRegistered() { try await Task.sleep(for: .milliseconds(20)) }
            say("device   \(uuid) registered, TCP service on 127.0.0.1:\(sink.port)")

            var results: [DemoPathResult] = []
            var plans: [(label: String, options: T2UClientOptions)] = []
            var base = T2UClientOptions(server: "127.0.0.1", serverPort: UInt16(serverPort), serverKey: serverKey)
            base.knownDevices = .memory  // the demo's device has a new key on every run
            plans.append(("auto", base))
            if relay {
                if let relayOnly = relayOnlyOptions(base) {
                    plans.append(("relay", relayOnly))
                } else {
                    say("relay    not tested: this SDK has no option to force the relay path")
                }
            }
            for (index, plan) in plans.enumerated() {
                let relayedBefore = try await server.counters().relayedBytes
                var result = try await transfer(
                    plan: plan.label, options: plan.options, uuid: uuid, remotePort: sink.port,
                    seed: UInt64(index + 1) &* 0x9E37_79B9_7F4A_7C15,
                    group: group)
                await progress.set("waiting for the device's digest")
                guard let received = await sinkResults.next() else {
                    throw DemoFailure("the device's TCP service stopped")
                }
                let receiverAgrees = received.bytes == bytes && received.digest == result.sentDigest
                result.summary.verified = result.summary.verified && receiverAgrees
                if plan.options.directDisabled {
                    // The contract, from the server's side: every byte crossed its relay (the
                    // relayed datagrams carry the stream plus headers, so at least `bytes`).
                    let relayed = try await server.counters().relayedBytes - relayedBefore
                    let allRelayed = relayed >= bytes
                    say(
                        "relay    the server relayed \(amount(Double(relayed))) for \(amount(Double(bytes))) sent: \(allRelayed ? "every byte went through the relay" : "BYTES BYPASSED THE RELAY")"
                    )
                    result.summary.verified = result.summary.verified && allRelayed
                }
                say(
                    "verify   sender \(Hex.encode(result.sentDigest).prefix(16))..., receiver \(Hex.encode(received.digest).prefix(16))... (\(received.bytes) bytes): \(result.summary.verified ? "verified" : "MISMATCH")"
                )
                results.append(result.summary)
            }
            if serve, let whileServing {
                await progress.set("starting the echo service")
                let echo = try await DemoEcho.start(group: group, preferredPort: DemoRun.preferredServicePort)
                cleanups.append { await echo.close() }
                let endpoints = DemoEndpoints(
                    serverPort: serverPort, observationPort: observationPort, uuid: uuid, servicePort: echo.port)
                await whileServing(results, endpoints)
            }
            await progress.set("shutting down")
            await cleanUp()
            return results
        } catch {
            await cleanUp()
            throw error
        }
    }

    /// The demo's server on `serverPort`; with `serve` and the default port taken, on free ports.
    private func startServer(
        config: ServerConfig
    ) async throws -> (ServerRunner, (main: SocketAddress, observation: SocketAddress)) {
        func attempt(_ port: Int) async throws -> (ServerRunner, (main: SocketAddress, observation: SocketAddress)) {
            var options = ServerRunner.Options()
            options.bindHost = "127.0.0.1"
            options.port = port
            let server = ServerRunner(config: config, options: options, logger: Logger(label: "t2u.demo.server"))
            do {
                return (server, try await server.start())
            } catch {
                try? await server.shutdown()
                throw error
            }
        }
        do {
            return try await attempt(serverPort)
        } catch let error where serverPortFallback && serverPort != 0 {
            say("server   127.0.0.1:\(serverPort) or \(serverPort + 1) is taken (\(error)); using free ports")
            return try await attempt(0)
        } catch  where serverPort != 0 {
            throw DemoFailure("cannot bind the server to 127.0.0.1:\(serverPort) and \(serverPort + 1) (UDP): \(error)")
        }
    }

    /// Client options that exclude the direct path (a contract the connection enforces).
    private func relayOnlyOptions(_ base: T2UClientOptions) -> T2UClientOptions? {
        var options = base
        options.directDisabled = true
        return options
    }

    private struct Transfer {
        var summary: DemoPathResult
        var sentDigest: [UInt8]
    }

    /// One client: register, map the sink's port, wait for the link, send, check the answer.
    private func transfer(
        plan: String, options: T2UClientOptions, uuid: String, remotePort: Int, seed: UInt64,
        group: MultiThreadedEventLoopGroup
    ) async throws -> Transfer {
        await progress.set("connecting the \(plan) client to the server")
        let client = try await T2UClient(options: options)
        do {
            let events = client.events
            let status = await waitForServer(client, seconds: 30)
            guard status == .connected else { throw DemoFailure("client \(plan): server \(status.words)") }
            await progress.set("querying the device")
            let info = try await client.query(uuid)
            guard info.online else { throw DemoFailure("the server says \(uuid) is offline") }
            say("client   \(plan): connected to the server; device online at \(info.publicIP), extra \"\(info.extra)\"")

            await progress.set("mapping the device's port (\(plan) client)")
            let localPort = try await client.addPort(
                PortMappingRequest(uuid: uuid, remotePort: UInt16(remotePort), password: password))
            await progress.set("waiting for the P2P link (\(plan) client, local port \(localPort))")
            let setupMillis = try await waitForLink(client: client, events: events, localPort: localPort)
            let (_, pathBefore) = await client.portStatus(localPort)
            say(
                "link     127.0.0.1:\(localPort) -> \(uuid):\(remotePort) up in \(setupMillis.map { "\($0) ms" } ?? "? ms"), path \(pathBefore?.words ?? "unknown")"
            )

            await progress.set(
                "sending \(bytes) bytes through 127.0.0.1:\(localPort) (\(pathBefore?.kind ?? "unknown path"))")
            let sent = try await sendThrough(port: Int(localPort), bytes: bytes, seed: seed, group: group)
            let (_, pathAfter) = await client.portStatus(localPort)
            let path = pathAfter ?? pathBefore
            let mbits = Double(sent.bytes) * 8 / max(sent.seconds, 1e-9) / 1e6
            say(
                "sent     \(amount(Double(sent.bytes))) in \(fixed(sent.seconds, 2)) s = \(fixed(mbits, 1)) Mbit/s via \(path?.words ?? "unknown path")\(path.map { ", rtt \(fixed($0.rttMillis, 2)) ms" } ?? "")"
            )

            await client.deletePort(localPort)
            await client.shutdown()
            let summary = DemoPathResult(
                path: path?.kind ?? "?", setupMillis: setupMillis, bytes: sent.bytes, seconds: sent.seconds,
                verified: sent.bytes == bytes && sent.sentDigest == sent.answeredDigest)
            return Transfer(summary: summary, sentDigest: sent.sentDigest)
        } catch {
            await client.shutdown()
            throw error
        }
    }

    private enum LinkWait: Sendable {
        case connected(setupMillis: Int)
        case statusOnly
        case failed(String)
        case ended
    }

    /// Waits for the `.connected` event of `localPort` (its setup time). Disconnect events are
    /// reported (the SDK retries); a rejected password ends the demo. If the port status says
    /// connected but no event comes within 2 s, goes on without a setup time.
    private func waitForLink(
        client: T2UClient, events: AsyncStream<T2UClientEvent>, localPort: UInt16
    ) async throws -> Int? {
        let outcome = await withTaskGroup(of: LinkWait.self) { group in
            group.addTask {
                for await event in events {
                    switch event {
                    case .connected(let port, let setupMillis) where port == localPort:
                        return .connected(setupMillis: setupMillis)
                    case .disconnected(let port, let code) where port == localPort:
                        if code == PortStatus.passwordRejected.rawValue { return .failed(disconnectWords(code)) }
                        say("link     down: \(disconnectWords(code))")
                    default:
                        break
                    }
                }
                return .ended
            }
            group.addTask {
                while !Task.isCancelled {
                    if await client.portStatus(localPort).0 == .connected {
                        try? await Task.sleep(for: .seconds(2))
                        return .statusOnly
                    }
                    try? await Task.sleep(for: .milliseconds(100))
                }
                return .ended
            }
            var outcome = LinkWait.ended
            while let next = await group.next() {
                if case .ended = next { continue }
                outcome = next
                break
            }
            group.cancelAll()
            return outcome
        }
        switch outcome {
        case .connected(let setupMillis): return setupMillis
        case .statusOnly:
            say("link     connected (no connect event from the SDK)")
            return nil
        case .failed(let why): throw DemoFailure(why)
        case .ended: throw DemoFailure("the SDK's event stream ended before the link came up")
        }
    }
}
