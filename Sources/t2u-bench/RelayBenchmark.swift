// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import ArgumentParser
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import T2UCommandLine
import T2UCore

#if canImport(Glibc)
import Glibc
#endif

/// Relay throughput of one `t2u-server` (child process, measured alone): N simulated clients
/// connect to N simulated devices through it, with the relay, and send transport-shaped packets
/// through their sessions at once. The server forwards packets by connection ID without
/// decrypting them, so the bench needs no transport: it sends what the relay routes on.
struct RelayBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "relay",
        abstract: "Relayed throughput, loss and CPU of one t2u-server with many sessions at once.",
        discussion: """
            Starts t2u-server as a child process on 127.0.0.1; N clients and N devices register (each with its own source address in 127.0.0.0/8, as in `t2u-bench server`), each client CONNECTs to its device, the handshake packets teach the relay both connection IDs, then every client sends data packets to its device through the relay at an even share of --offered-mbps for --duration seconds. Linux only. Ends with: RESULT relay sessions=... offered_mbps=... mbps=... loss_pct=... server_cpu_pct=...
            """)

    @Option(help: "Relay sessions at once (clients and devices each).")
    var sessions: Int = 100

    @Option(help: "Seconds of sending.")
    var duration: Double = 10

    @Option(help: "Bytes per packet (bulk transfers relay full-size datagrams: TransportConfig.maxDatagramSize, 1452).")
    var packetSize: Int = TransportConfig().maxDatagramSize

    @Option(help: "Total rate the clients offer, Mbit/s (0: as fast as this process sends).")
    var offeredMbps: Double = 1500

    @Option(help: "The t2u-server executable. (default: next to t2u-bench)")
    var serverBinary: String?

    /// Passed to the t2u-server child, whose log lines share this process's stderr.
    @OptionGroup var logging: LogFormatOption

    func validate() throws {
        guard (1...10_000).contains(sessions) else { throw ValidationError("--sessions must be 1...10000") }
        guard duration > 0, duration <= 600 else { throw ValidationError("--duration must be 0...600 seconds") }
        guard (32...1452).contains(packetSize) else { throw ValidationError("--packet-size must be 32...1452 bytes") }
        guard offeredMbps >= 0, offeredMbps <= 100_000 else {
            throw ValidationError("--offered-mbps must be 0...100000")
        }
    }

    func run() throws {
        #if canImport(Glibc)
        try runLinux()
        #else
        throw ValidationError("t2u-bench relay needs Linux (IP_PKTINFO, /proc)")
        #endif
    }
}

#if canImport(Glibc)
/// What the receiving thread has counted so far, and whether it should stop.
private struct RelayReceiveCounts {
    var bytes = 0
    var packets = 0
    var stop = false
}

extension RelayBenchmark {
    static let deviceBase: UInt32 = 0x7F02_0001  // 127.2.0.1
    static let clientBase: UInt32 = 0x7FC9_0001  // 127.201.0.1
    /// Connection IDs: client i receives on clientCIDBase + i, device i on deviceCIDBase + i.
    static let clientCIDBase: UInt64 = 0x0C11_0000_0000_0000
    static let deviceCIDBase: UInt64 = 0x0DE5_0000_0000_0000

    func runLinux() throws {
        say(
            "t2u-bench relay: \(sessions) sessions, \(packetSize)-byte packets, \(offeredMbps == 0 ? "as fast as possible" : "\(offeredMbps) Mbit/s offered"), \(duration) s"
        )
        let launched = try LaunchedBenchServer.start(
            executable: serverBinary, logFormat: logging.format,
            extra: [
                "--signaling-rate", "1000000", "--signaling-burst", "1000000", "--max-tracked-sources",
                "\(2 * sessions + 1000)",
            ])
        let server = launched.process
        let target = launched.target
        say("server: \(launched.arguments.joined(separator: " "))")
        defer { server.stop() }

        let deviceSocket = try MultiplexedUDPSocket()
        let clientSocket = try MultiplexedUDPSocket()
        let devices = AgentRegistrar(
            role: .device, count: sessions, baseAddress: Self.deviceBase, uuidPrefix: "relay-device",
            socket: deviceSocket, target: target)
        let clients = AgentRegistrar(
            role: .client, count: sessions, baseAddress: Self.clientBase, uuidPrefix: "relay-client",
            socket: clientSocket, target: target)
        var connected = [Bool](repeating: false, count: sessions)
        var routed = [Bool](repeating: false, count: sessions)  // the client has the device's handshake response
        var lastTry = [Int64](repeating: 0, count: sessions)

        // Registration, CONNECT, then one handshake-shaped exchange per session (the relay
        // learns the device's connection ID from the response), each retried every second.
        let setupDeadline = monotonicNanos() + 60_000_000_000
        var packet = [UInt8](repeating: 0, count: packetSize)
        func pump(_ socket: MultiplexedUDPSocket, _ handle: (UnsafeRawBufferPointer, UInt32) -> Void) {
            var received = 0
            while received < 4096, socket.receive(handle) { received += 1 }
        }
        while !routed.allSatisfy({ $0 }) {
            let now = monotonicNanos()
            guard now < setupDeadline else {
                throw ValidationError(
                    "setup incomplete after 60 s: \(devices.registeredCount)/\(sessions) devices and \(clients.registeredCount)/\(sessions) clients registered, \(connected.filter { $0 }.count) connected, \(routed.filter { $0 }.count) routed"
                )
            }
            guard server.isRunning else { throw ValidationError("t2u-server exited during setup") }
            devices.tick(now: now, window: 256, retransmit: 1_000_000_000)
            clients.tick(now: now, window: 256, retransmit: 1_000_000_000)
            for i in 0..<sessions
            where clients.phase[i] == .registered && devices.phase[i] == .registered && !routed[i]
                && now - lastTry[i] > 1_000_000_000
            {
                lastTry[i] = now
                if !connected[i] {
                    clients.send(
                        .connect(
                            .init(
                                requestID: UInt32(i), token: clients.tokens[i], uuid: devices.uuid(i),
                                clientConnectionID: ConnectionID(rawValue: Self.clientCIDBase + UInt64(i)),
                                candidates: [])), agent: i)
                } else {
                    Self.shape(&packet, type: .handshakeInitiation, cid: Self.clientCIDBase + UInt64(i), at: 1)
                    packet.withUnsafeBytes {
                        _ = clientSocket.send($0, from: Self.clientBase + UInt32(i), to: target.address)
                    }
                }
            }
            pump(deviceSocket) { bytes, destination in
                let i = Int(destination &- Self.deviceBase)
                guard i >= 0, i < sessions else { return }
                if bytes.first == PacketType.handshakeInitiation.rawValue {
                    var response = [UInt8](repeating: 0, count: 92)
                    Self.shape(&response, type: .handshakeResponse, cid: Self.clientCIDBase + UInt64(i), at: 1)
                    Self.store(Self.deviceCIDBase + UInt64(i), into: &response, at: 9)
                    response.withUnsafeBytes { _ = deviceSocket.send($0, from: destination, to: target.address) }
                } else if let message = try? SignalingMessage.parse(ByteBuffer(bytes: bytes)) {
                    if case .sealed = message, case .introduce(let intro)? = devices.unseal(message, agent: i) {
                        devices.send(
                            .introduceAck(
                                requestID: intro.requestID, token: devices.tokens[i], sessionID: intro.sessionID),
                            agent: i)
                    } else {
                        devices.handle(message, destination: destination, now: now)
                    }
                }
            }
            pump(clientSocket) { bytes, destination in
                let i = Int(destination &- Self.clientBase)
                guard i >= 0, i < sessions else { return }
                if bytes.first == PacketType.handshakeResponse.rawValue {
                    routed[i] = true
                } else if let message = try? SignalingMessage.parse(ByteBuffer(bytes: bytes)) {
                    if case .sealed = message, case .connectResult(let result)? = clients.unseal(message, agent: i) {
                        guard result.online, result.relayAllowed else { return }
                        connected[i] = true
                        lastTry[i] = 0  // send the handshake at once
                    } else {
                        clients.handle(message, destination: destination, now: now)
                    }
                }
            }
            deviceSocket.wait(milliseconds: 1)
        }
        say("setup: \(sessions) sessions routed through the relay")

        // Receiver: the devices' socket, on its own thread.
        let counts = NIOLockedValueBox(RelayReceiveCounts())
        let receiver = Thread {
            while !counts.withLockedValue({ $0.stop }) {
                var got = 0
                var bytes = 0
                var packets = 0
                while got < 4096,
                    deviceSocket.receive({ received, _ in
                        if received.first == PacketType.dataKeyPhase0.rawValue {
                            bytes += received.count
                            packets += 1
                        }
                    })
                { got += 1 }
                counts.withLockedValue {
                    $0.bytes += bytes
                    $0.packets += packets
                }
                if got == 0 { deviceSocket.wait(milliseconds: 1) }
            }
        }
        receiver.stackSize = 1 << 20
        receiver.start()

        // Sender: round robin over the sessions, paced in 1 ms slots at the offered rate.
        let cpuBefore = server.cpuSeconds() ?? 0
        let start = monotonicNanos()
        let end = start + Int64(duration * 1e9)
        let packetsPerNanosecond = offeredMbps * 1e6 / 8 / Double(packetSize) / 1e9
        var sent = 0
        var failed = 0
        var next = 0
        while true {
            let now = monotonicNanos()
            if now >= end { break }
            let allowed = offeredMbps == 0 ? sent + 64 : Int(Double(now - start) * packetsPerNanosecond)
            if sent >= allowed {
                usleep(200)
                continue
            }
            for _ in 0..<min(allowed - sent, 256) {
                Self.shape(&packet, type: .dataKeyPhase0, cid: Self.deviceCIDBase + UInt64(next), at: 2)
                let ok = packet.withUnsafeBytes {
                    clientSocket.send($0, from: Self.clientBase + UInt32(next), to: target.address)
                }
                if ok {
                    sent += 1
                } else {
                    failed += 1
                    sent += 1
                }
                next = (next + 1) % sessions
            }
        }
        let elapsed = Double(monotonicNanos() - start) / 1e9
        usleep(300_000)  // what is still queued in the server drains
        let cpu = (server.cpuSeconds() ?? 0) - cpuBefore
        counts.withLockedValue { $0.stop = true }
        while receiver.isExecuting { usleep(1000) }
        let (bytes, packets) = counts.withLockedValue { ($0.bytes, $0.packets) }

        func f(_ value: Double, _ digits: Int = 1) -> String { String(format: "%.\(digits)f", value) }
        let offered = Double(sent * packetSize) * 8 / elapsed / 1e6
        let mbps = Double(bytes) * 8 / elapsed / 1e6
        let loss = sent > 0 ? 100 * Double(sent - packets) / Double(sent) : 0
        let cpuPerGB = bytes > 0 ? cpu / (Double(bytes) / 1e9) : 0
        say("sent \(sent) packets (\(failed) refused by this host), received \(packets) through the relay")
        say("")
        say("| metric | value |")
        say("|---|---|")
        say("| sessions | \(sessions) |")
        say("| offered | \(f(offered)) Mbit/s |")
        say("| relayed (received by the devices) | \(f(mbps)) Mbit/s |")
        say("| loss | \(f(loss, 2)) % |")
        say("| server CPU | \(f(100 * cpu / elapsed, 0)) % of a core, \(f(cpuPerGB, 2)) CPU-s per GB relayed |")
        say("")
        say(
            "RESULT relay sessions=\(sessions) offered_mbps=\(f(offered)) mbps=\(f(mbps)) loss_pct=\(f(loss, 2)) server_cpu_pct=\(f(100 * cpu / elapsed, 0)) cpu_s_per_gb=\(f(cpuPerGB, 2))"
        )
    }

    /// A packet the relay routes: its type byte, and a connection ID (big-endian) at `offset`.
    static func shape(_ packet: inout [UInt8], type: PacketType, cid: UInt64, at offset: Int) {
        packet[0] = type.rawValue
        store(cid, into: &packet, at: offset)
    }

    static func store(_ value: UInt64, into bytes: inout [UInt8], at offset: Int) {
        for k in 0..<8 { bytes[offset + k] = UInt8(truncatingIfNeeded: value >> (56 - 8 * k)) }
    }
}
#endif
