// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Foundation
import T2UCore
import Testing

@testable import T2UClient

/// A fresh directory under /tmp, removed by `remove()`.
struct TemporaryDirectory {
    let path: String
    init() throws {
        var template = Array((NSTemporaryDirectory() + "t2u-pins-XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else { throw CocoaError(.fileWriteUnknown) }
        path = String(cString: made)
    }
    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

func fileMode(_ path: String) -> Int {
    var info = stat()
    return lstat(path, &info) == 0 ? Int(info.st_mode & 0o777) : -1
}

func writeFile(_ path: String, _ text: String, mode: mode_t = 0o600) {
    _ = FileManager.default.createFile(
        atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: Int(mode)])
    chmod(path, mode)
}

func readFile(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }

let keyA = [UInt8](repeating: 0xA1, count: 32)
let keyB = [UInt8](repeating: 0xB2, count: 32)

/// The known-devices file: format, strictness, permissions, atomic and concurrent writes.
@Suite struct KnownDevicesFileTests {
    static let path = "/home/u/.config/t2u/known_devices"

    static func parse(_ text: String) throws(KnownDevicesError) -> KnownDevices {
        try KnownDevices(parsing: Array(text.utf8), path: path)
    }

    @Test func parsesPinsCommentsBlankLinesAndCRLF() throws {
        let known = try Self.parse(
            "# pins\r\n\r\ncam-1 \(Hex.encode(keyA))\r\n  cam-2\t\(Hex.encode(keyB).uppercased())  \n")
        #expect(known.pins["cam-1"] == KnownDevices.Pin(key: keyA, line: 3))
        #expect(known.pins["cam-2"] == KnownDevices.Pin(key: keyB, line: 4))
        #expect(known.lineCount == 4)
        #expect(known.check(uuid: "cam-1", key: keyA) == .matches)
        #expect(known.check(uuid: "cam-1", key: keyB) == .differs(KnownDevices.Pin(key: keyA, line: 3)))
        #expect(known.check(uuid: "cam-3", key: keyB) == .unknown)
    }

    /// Fail closed: a line that is not understood makes the file unusable, naming file and line.
    @Test(arguments: [
        ("cam-1", "expected 'UUID KEY' (two fields), found 1"),
        ("cam-1 \(Hex.encode(keyA)) extra", "expected 'UUID KEY' (two fields), found 3"),
        ("cam-1 \(Hex.encode(keyA).dropLast(2))", "the key of cam-1 is not 64 hex digits"),
        ("cam-1 \(Hex.encode(keyA).dropLast(1))g", "the key of cam-1 is not 64 hex digits"),
        ("cäm \(Hex.encode(keyA))", "the UUID is not 1-64 printable ASCII characters without spaces"),
        ("\(String(repeating: "x", count: 65)) \(Hex.encode(keyA))", "the UUID is not 1-64"),
        ("cam-0 \(Hex.encode(keyB))", "cam-0 is already pinned on line 2"),
    ])
    func malformedLineNamesFileAndLine(line: String, problem: String) throws {
        let text = "# pins\ncam-0 \(Hex.encode(keyA))\n\(line)\n"
        #expect {
            try Self.parse(text)
        } throws: { error in
            let message = "\(error)"
            return message.hasPrefix("known-devices file \(Self.path) line 3: \(problem)")
                && message.contains("Refusing to connect")
        }
    }

    @Test func firstPinCreatesPrivateDirectoriesAndFileAtomically() throws {
        let temporary = try TemporaryDirectory()
        defer { temporary.remove() }
        let path = temporary.path + "/config/t2u/known_devices"
        #expect(try KnownDevicesFile.pin(uuid: "cam-1", key: keyA, path: path) == .pinned(line: 3))
        #expect(fileMode(temporary.path + "/config") == 0o700)
        #expect(fileMode(temporary.path + "/config/t2u") == 0o700)
        #expect(fileMode(path) == 0o600)
        #expect(!FileManager.default.fileExists(atPath: path + ".tmp"))
        #expect(readFile(path).hasSuffix("\ncam-1 \(Hex.encode(keyA))\n"))
        #expect(try KnownDevicesFile.pin(uuid: "cam-1", key: keyA, path: path) == .matched)
        #expect(
            try KnownDevicesFile.pin(uuid: "cam-1", key: keyB, path: path)
                == .differs(KnownDevices.Pin(key: keyA, line: 3)))
        #expect(try KnownDevicesFile.pin(uuid: "cam-2", key: keyB, path: path) == .pinned(line: 4))
        // A hand-edited file without a final newline gets one before the next pin.
        writeFile(path, "cam-1 \(Hex.encode(keyA))")
        #expect(try KnownDevicesFile.pin(uuid: "cam-3", key: keyB, path: path) == .pinned(line: 2))
        #expect(try KnownDevicesFile.load(path: path).pins.count == 2)
    }

    @Test func symlinkAndOtherWritableFilesAreRefused() throws {
        let temporary = try TemporaryDirectory()
        defer { temporary.remove() }
        let real = temporary.path + "/real"
        writeFile(real, "cam-1 \(Hex.encode(keyA))\n")
        let link = temporary.path + "/link"
        symlink(real, link)
        #expect(throws: KnownDevicesError.unsafe(path: link, problem: "it is a symbolic link")) {
            try KnownDevicesFile.load(path: link)
        }
        #expect(throws: KnownDevicesError.self) { try KnownDevicesFile.pin(uuid: "cam-2", key: keyA, path: link) }
        chmod(real, 0o666)
        #expect(throws: KnownDevicesError.unsafe(path: real, problem: "mode 666 lets other users change the pins")) {
            try KnownDevicesFile.load(path: real)
        }
        chmod(real, 0o644)  // readable by others is fine: keys are public
        #expect(try KnownDevicesFile.load(path: real).pins.count == 1)
    }

    /// Writers in parallel (each with its own open file description, as separate processes
    /// have) never lose a pin or leave a torn file.
    @Test func concurrentWritersLoseNoPin() async throws {
        let temporary = try TemporaryDirectory()
        defer { temporary.remove() }
        let path = temporary.path + "/known_devices"
        let failures = await withTaskGroup(of: [String].self) { group in
            for writer in 0..<8 {
                group.addTask {
                    var failures: [String] = []
                    for index in 0..<20 {
                        let key = [UInt8](repeating: UInt8(writer * 20 + index), count: 32)
                        do {
                            let outcome = try KnownDevicesFile.pin(uuid: "cam-\(writer)-\(index)", key: key, path: path)
                            if case .pinned = outcome { continue }
                            failures.append("cam-\(writer)-\(index): \(outcome)")
                        } catch {
                            failures.append("\(error)")
                        }
                    }
                    return failures
                }
            }
            return await group.reduce(into: []) { $0 += $1 }
        }
        #expect(failures.isEmpty, "\(failures)")
        let known = try KnownDevicesFile.load(path: path)
        #expect(known.pins.count == 160)
        #expect(known.pins["cam-7-19"]?.key == [UInt8](repeating: 159, count: 32))
        #expect(!FileManager.default.fileExists(atPath: path + ".tmp"))
    }

    @Test func defaultLocationFollowsTheEnvironment() throws {
        func resolve(_ env: [String: String]) throws(KnownDevicesError) -> String {
            try KnownDevicesFile.defaultPath { env[$0] }
        }
        #expect(try resolve(["T2U_KNOWN_DEVICES": "/x/pins", "XDG_CONFIG_HOME": "/c", "HOME": "/h"]) == "/x/pins")
        #expect(
            try resolve(["T2U_KNOWN_DEVICES": "", "XDG_CONFIG_HOME": "/c", "HOME": "/h"]) == "/c/t2u/known_devices")
        #expect(try resolve(["XDG_CONFIG_HOME": "relative", "HOME": "/h"]) == "/h/.config/t2u/known_devices")
        #expect(throws: KnownDevicesError.noLocation) { try resolve([:]) }
    }

    @Test func memoryPinsTrustOnFirstUseAndRefuseAChange() throws {
        var pins = try DevicePins(location: .memory)
        #expect(pins.trust(keyA, for: "cam-1") == .pinnedNow(line: 0))
        #expect(pins.trust(keyA, for: "cam-1") == .trusted)
        guard case .changed(let change) = pins.trust(keyB, for: "cam-1") else {
            Issue.record("not refused")
            return
        }
        #expect(change.path == nil && change.pinnedKey == keyA && change.presentedKey == keyB)
        #expect("\(change)".contains("restart the client to forget it"))
    }

    /// Seeded mutations of a valid file: a pin set or a typed error naming an existing line;
    /// never a crash, never a pin with a bad UUID or key length.
    @Test(arguments: [UInt64(21)])
    func fuzzedFilesParseOrFailCleanly(seed: UInt64) {
        let valid = Array("# pins\r\ncam-1 \(Hex.encode(keyA))\ncam-2\t\(Hex.encode(keyB))\n\n".utf8)
        let mutator = Mutator(seed: seed)
        var accepted = 0
        var rejected = 0
        for iteration in 0..<20_000 {
            let input =
                mutator.chance(1, in: 8) ? mutator.randomBytes(maxLength: 160) : mutator.mutate(valid, donor: valid)
            let lines = input.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).count
            do {
                let known = try KnownDevices(parsing: input, path: "f")
                for (uuid, pin) in known.pins
                where !KnownDevices.isValidUUID(uuid) || pin.key.count != 32 || pin.line > lines {
                    Issue.record("seed \(seed) iteration \(iteration): accepted \(uuid) \(pin)")
                    return
                }
                accepted += 1
            } catch {
                guard case .malformed(_, let line, _) = error, (1...lines).contains(line) else {
                    Issue.record("seed \(seed) iteration \(iteration): \(error)")
                    return
                }
                rejected += 1
            }
        }
        #expect(accepted > 100 && rejected > 100, "accepted \(accepted) rejected \(rejected)")
    }
}

/// Pins through the SDK: the client against a server and a device on loopback.
@Suite(.serialized) struct KnownDevicesClientTests {
    @Test func firstContactPinsAndANewClientInstanceTrustsTheFile() async throws {
        let temporary = try TemporaryDirectory()
        defer { temporary.remove() }
        let path = temporary.path + "/known_devices"
        let server = TestServer()
        try await server.start()
        let echo = EchoService()
        try await echo.start()
        let device = try TestDevice(uuid: "cam-pin", server: server.address, seed: 31)
        try await device.start()
        var options = clientOptions(server)
        options.knownDevices = .file(path)
        for round in 0..<2 {
            let client = try await T2UClient(options: options)
            let port = try await client.addPort(PortMappingRequest(uuid: "cam-pin", remotePort: echo.port))
            try await waitUntil("connected, round \(round)") { await client.portStatus(port).0 == .connected }
            await client.shutdown()
        }
        let known = try KnownDevicesFile.load(path: path)
        #expect(known.pins["cam-pin"]?.key == device.identity.publicKey)
        #expect(known.pins.count == 1)
        #expect(fileMode(path) == 0o600)
        await device.stop()
        await echo.stop()
        await server.stop()
    }

    /// The attack: the UUID answers with another key than the pinned one. The port is -6 and
    /// stays -6 across retries, the event names UUID, both keys, file and line; never connected.
    @Test func changedKeyIsMinusSixWithTheFileLineToDelete() async throws {
        let temporary = try TemporaryDirectory()
        defer { temporary.remove() }
        let path = temporary.path + "/known_devices"
        writeFile(path, "# pinned earlier\ncam-moved \(Hex.encode(keyA))\n")
        let server = TestServer()
        try await server.start()
        let echo = EchoService()
        try await echo.start()
        let device = try TestDevice(uuid: "cam-moved", server: server.address, seed: 32)
        try await device.start()
        var options = clientOptions(server)
        options.knownDevices = .file(path)
        let client = try await T2UClient(options: options)
        let events = CodeLog()
        client.setEventHandler { events.append($0) }
        let port = try await client.addPort(PortMappingRequest(uuid: "cam-moved", remotePort: echo.port))
        try await waitUntil("two refusals") {
            events.events.filter { $0 == .disconnected(localPort: port, code: PortStatus.deviceKeyChanged.rawValue) }
                .count >= 2
        }
        #expect(await client.portStatus(port).0 == .deviceKeyChanged)
        #expect(PortStatus.deviceKeyChanged.rawValue == -6)  // what t2u_port_status and OnDisconnect return
        #expect(!events.events.contains { if case .connected = $0 { true } else { false } })
        let change = try #require(
            events.events.lazy.compactMap { event -> DeviceKeyChange? in
                if case .deviceKeyChanged(port, let change) = event { return change }
                return nil
            }.first)
        #expect(
            change
                == DeviceKeyChange(
                    uuid: "cam-moved", pinnedKey: keyA, presentedKey: device.identity.publicKey, path: path, line: 2))
        let words = "\(change)"
        #expect(words.hasPrefix("device key changed: cam-moved presents key \(Hex.encode(device.identity.publicKey))"))
        #expect(words.contains("pinned to \(Hex.encode(keyA))"))
        #expect(words.contains("delete line 2 of \(path)"))
        // A query reports it too, without pinning.
        let info = try await client.query("cam-moved")
        #expect(info.keyChange == change)
        #expect(readFile(path) == "# pinned earlier\ncam-moved \(Hex.encode(keyA))\n")
        // Deleting the line (the change was intended) lets the next retry pin and connect.
        writeFile(path, "# pinned earlier\n")
        try await waitUntil("connected after the pin was deleted", seconds: 15) {
            await client.portStatus(port).0 == .connected
        }
        #expect(try KnownDevicesFile.load(path: path).pins["cam-moved"]?.key == device.identity.publicKey)
        await client.shutdown()
        await device.stop()
        await echo.stop()
        await server.stop()
    }

    @Test func malformedFileStopsTheClientNamingFileAndLine() async throws {
        let temporary = try TemporaryDirectory()
        defer { temporary.remove() }
        let path = temporary.path + "/known_devices"
        writeFile(path, "cam-1 \(Hex.encode(keyA))\ncam-2 not-a-key\n")
        var options = T2UClientOptions(server: "127.0.0.1", serverPort: 9)
        options.knownDevices = .file(path)
        await #expect(
            throws: T2UClientError.knownDevices(
                .malformed(path: path, line: 2, problem: "the key of cam-2 is not 64 hex digits"))
        ) {
            _ = try await T2UClient(options: options)
        }
    }
}
