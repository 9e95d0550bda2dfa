// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Foundation
import Logging
import T2UCore
import Testing

@testable import T2UServer

/// The bindings file: bindings survive a restart, a corrupt file stops the server naming file
/// and line, the parser only ever throws typed errors.
@Suite struct BindingsFileTests {
    static func temporaryPath(_ name: String) -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("t2u-bindings-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir.appendingPathComponent(name).path
    }

    static let key1 = [UInt8](repeating: 1, count: 32)
    static let key2 = [UInt8](repeating: 2, count: 32)
    static let server = StaticIdentity.generate(SeededEntropy(seed: 77))

    static func register(_ bindings: PersistentDeviceBindings, _ uuid: String, _ key: [UInt8]) -> BindingDecision {
        bindings.admit(
            DeviceRegistration(uuid: uuid, publicKey: key, cookie: [UInt8](repeating: 0, count: 20)), server: server,
            now: .zero)
    }

    @Test func bindingsSurviveARestart() async throws {
        let path = Self.temporaryPath("bindings")
        let logger = Logger(label: "test")
        do {
            let (store, loaded) = try BindingsFileStore.open(path: path, logger: logger)
            #expect(loaded.isEmpty)
            let bindings = PersistentDeviceBindings(loaded: loaded)
            #expect(Self.register(bindings, "CAM-1", Self.key1) == .accepted(created: true, rebound: false))
            #expect(Self.register(bindings, "odd uuid %\n", Self.key2) == .accepted(created: true, rebound: false))
            #expect(Self.register(bindings, "CAM-2", Self.key2) == .accepted(created: true, rebound: false))
            store.persist(bindings.takeChanges())
            #expect(bindings.release(uuid: "CAM-2"))
            store.persist(bindings.takeChanges())
            await store.close()
        }
        var info = stat()
        #expect(stat(path, &info) == 0 && info.st_mode & 0o777 == 0o600)
        // "Restart": a new object reading the file.
        let (store, loaded) = try BindingsFileStore.open(path: path, logger: logger)
        defer { Task { await store.close() } }
        let bindings = PersistentDeviceBindings(loaded: loaded)
        #expect(bindings.count == 2)
        #expect(bindings.boundKey(uuid: "CAM-1") == Self.key1)
        #expect(bindings.boundKey(uuid: "odd uuid %\n") == Self.key2)
        #expect(bindings.boundKey(uuid: "CAM-2") == nil)
        // The hijack after the restart is still refused.
        #expect(Self.register(bindings, "CAM-1", Self.key2) == .refused(.identityConflict))
    }

    @Test func laterLinesWinAndCRLFIsAccepted() throws {
        let text = "# c\r\nCAM-1 \(Hex.encode(Self.key1))\r\n\nCAM-1 \(Hex.encode(Self.key2))\n"
        #expect(
            try BindingsFile.parse(Array(text.utf8), path: "f") == [DeviceBinding(uuid: "CAM-1", publicKey: Self.key2)])
    }

    @Test(arguments: [
        ("CAM-1\n", 1, "expected 2 fields"),
        ("# ok\nCAM-1 abc\n", 2, "not 64 hex digits"),
        ("CAM-1 \(String(repeating: "zz", count: 32))\n", 1, "not 64 hex digits"),
        ("CAM-1 \(Hex.encode(key1)) extra\n", 1, "expected 2 fields"),
        ("CAM-%4 \(Hex.encode(key1))\n", 1, "percent-encoded"),
        ("CAM-%FF \(Hex.encode(key1))\n", 1, "percent-encoded"),
    ])
    func corruptionNamesFileAndLine(_ text: String, _ line: Int, _ problem: String) {
        do {
            _ = try BindingsFile.parse(Array(text.utf8), path: "/etc/t2u/bindings")
            Issue.record("accepted \(text)")
        } catch {
            guard case .malformed(let path, let at, let what) = error else {
                Issue.record("\(error)")
                return
            }
            #expect(path == "/etc/t2u/bindings" && at == line && what.contains(problem))
            #expect(error.description.contains("/etc/t2u/bindings line \(line)"))
        }
    }

    @Test func aCorruptFileStopsTheServer() async throws {
        let path = Self.temporaryPath("bindings")
        try "CAM-1 \(Hex.encode(Self.key1))\nbroken\n".write(toFile: path, atomically: false, encoding: .utf8)
        var options = ServerRunner.Options()
        options.bindHost = "127.0.0.1"
        options.port = 0
        options.bindingsFile = path
        let runner = ServerRunner(config: ServerConfig(), options: options, logger: Logger(label: "test"))
        await #expect(
            throws: BindingsFileError.malformed(
                path: path, line: 2, problem: "expected 2 fields separated by a space, found 1")
        ) {
            try await runner.start()
        }
        try await runner.shutdown()
    }

    /// Flips, overwrites with edge bytes (newline, space, %, hex digits), truncates or inserts.
    static func mutate(_ original: [UInt8], _ entropy: SeededEntropy) -> [UInt8] {
        var bytes = original
        let edges: [UInt8] = [0x0A, 0x0D, 0x20, 0x25, 0x23, 0x30, 0x66, 0x00, 0xFF, 0xC3]
        for _ in 0...entropy.next(below: 3) where !bytes.isEmpty {
            let at = Int(entropy.next(below: UInt64(bytes.count)))
            switch entropy.next(below: 4) {
            case 0: bytes[at] ^= UInt8(1 << entropy.next(below: 8))
            case 1: bytes[at] = edges[Int(entropy.next(below: UInt64(edges.count)))]
            case 2: bytes.removeSubrange(at...)
            default: bytes.insert(edges[Int(entropy.next(below: UInt64(edges.count)))], at: at)
            }
        }
        return bytes
    }

    @Test func fuzzedFilesOnlyThrowTypedErrors() throws {
        let seed: UInt64 = 0xB1ED
        let entropy = SeededEntropy(seed: seed)
        let good = Array(
            ("# h\n" + BindingsFile.line(DeviceBinding(uuid: "CAM-%1", publicKey: Self.key1))
                + BindingsFile.line(DeviceBinding(uuid: "x", publicKey: Self.key2))).utf8)
        var accepted = 0
        for _ in 0..<5_000 {
            let input = Self.mutate(good, entropy)
            do {
                for binding in try BindingsFile.parse(input, path: "f") {
                    #expect(binding.publicKey.count == 32 && !binding.uuid.isEmpty)
                    // What parses writes back to the same binding.
                    #expect(try BindingsFile.parse(Array(BindingsFile.line(binding).utf8), path: "f") == [binding])
                }
                accepted += 1
            } catch {
                guard case .malformed = error else {
                    Issue.record("seed \(seed): \(error)")
                    continue
                }
            }
        }
        #expect(accepted > 50)
    }
}
