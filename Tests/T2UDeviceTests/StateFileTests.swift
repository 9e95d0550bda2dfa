// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import T2UDevice
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

@Suite struct StateFileTests {
    /// A fresh directory under /tmp.
    static func temporaryDirectory() throws -> String {
        var template = Array("/tmp/t2u-device-XXXXXX".utf8CString)
        // The name is read through mkdtemp's pointer (String(cString:) of an array is deprecated).
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!).map { String(cString: $0) } }
        return try #require(made)
    }

    func options(state: String) -> DeviceAgentOptions {
        var options = DeviceAgentOptions(uuid: "cam-state", server: "127.0.0.1", serverPort: 7000)
        options.statePath = state
        return options
    }

    @Test func keyIsCreatedPrivateAndReused() throws {
        let directory = try Self.temporaryDirectory()
        let path = directory + "/device.key"
        defer {
            unlink(path)
            rmdir(directory)
        }

        let first = try DeviceAgent(options: options(state: path))
        var info = stat()
        #expect(stat(path, &info) == 0, "the state file must exist after the first start")
        #expect(info.st_mode & 0o777 == 0o600, "mode \(String(info.st_mode & 0o777, radix: 8)) must be 0600")
        #expect(info.st_size == 65, "64 hex digits and a newline")

        let second = try DeviceAgent(options: options(state: path))
        #expect(second.publicKey == first.publicKey, "a restart must keep the key clients pinned")
        #expect(first.publicKey.count == 32)

        let inMemory = try DeviceAgent(options: DeviceAgentOptions(uuid: "cam", server: "127.0.0.1", serverPort: 7000))
        #expect(inMemory.publicKey != first.publicKey)
    }

    @Test(arguments: ["garbage\n", String(repeating: "zz", count: 32), String(repeating: "ab", count: 31), ""])
    func corruptFileIsAClearError(contents: String) throws {
        let directory = try Self.temporaryDirectory()
        let path = directory + "/device.key"
        defer {
            unlink(path)
            rmdir(directory)
        }
        let fd = open(path, O_WRONLY | O_CREAT, 0o600)
        try #require(fd >= 0)
        let bytes = Array(contents.utf8)
        #expect(write(fd, bytes, bytes.count) == bytes.count)
        close(fd)

        do {
            _ = try DeviceAgent(options: options(state: path))
            Issue.record("a corrupt state file must not start the agent (contents \(contents.debugDescription))")
        } catch let error as DeviceAgentError {
            guard case .stateFile(.corrupt(let named, _, _)) = error else {
                Issue.record("wrong error \(error)")
                return
            }
            #expect(named == path)
            #expect(error.description.contains(path) && error.description.contains("delete"))
        }
        // The file is left for the operator to inspect.
        var info = stat()
        #expect(stat(path, &info) == 0 && Int(info.st_size) == bytes.count)
    }

    @Test func unreadableLocationIsAnIOError() throws {
        do {
            _ = try DeviceAgent(options: options(state: "/nonexistent-dir-t2u/device.key"))
            Issue.record("must fail")
        } catch let error as DeviceAgentError {
            guard case .stateFile(.io(let path, _, _, _)) = error else {
                Issue.record("wrong error \(error)")
                return
            }
            #expect(path == "/nonexistent-dir-t2u/device.key")
        }
    }

    @Test func groupReadableOrSymlinkedKeyIsRefused() throws {
        let directory = try Self.temporaryDirectory()
        let path = directory + "/device.key"
        let link = directory + "/link.key"
        defer {
            unlink(link)
            unlink(path)
            rmdir(directory)
        }
        _ = try DeviceAgent(options: options(state: path))
        #expect(symlink(path, link) == 0)
        do {
            _ = try DeviceAgent(options: options(state: link))
            Issue.record("a symlinked state file must be refused")
        } catch let error as DeviceAgentError {
            guard case .stateFile(.unsafe(let named, _, let problem)) = error else {
                Issue.record("wrong error \(error)")
                return
            }
            #expect(named == link && problem.contains("symbolic link"))
        }
        #expect(chmod(path, 0o644) == 0)
        do {
            _ = try DeviceAgent(options: options(state: path))
            Issue.record("a world-readable state file must be refused")
        } catch let error as DeviceAgentError {
            guard case .stateFile(.unsafe(_, _, let problem)) = error else {
                Issue.record("wrong error \(error)")
                return
            }
            #expect(problem.contains("644"))
            #expect(error.description.contains("chmod 600"))
        }
    }
}
