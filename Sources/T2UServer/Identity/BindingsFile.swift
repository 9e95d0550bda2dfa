// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import T2UCore
import T2UNIO

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Why the bindings file cannot be used; says what is wrong and what to do.
package enum BindingsFileError: Error, Equatable, Sendable, CustomStringConvertible {
    case malformed(path: String, line: Int, problem: String)
    case io(path: String, operation: String, errno: Int32)

    package var description: String {
        switch self {
        case .malformed(let path, let line, let problem):
            "bindings file \(path) line \(line): \(problem); each line must be `UUID HEXKEY` (64 hex digits). "
                + "Fix or delete that line (a deleted binding is taken again by the next device registering that UUID)"
        case .io(let path, let operation, let code):
            "cannot \(operation) bindings file \(path): \(String(cString: strerror(code))) (errno \(code)); "
                + "check that the directory exists and is writable by this user"
        }
    }
}

/// `t2u-server --bindings-file PATH`: one binding a line, `UUID HEXKEY`, where the UUID is
/// percent-encoded (bytes outside `!`...`~` and `%` as %XX) and HEXKEY is the device's X25519
/// public key in 64 hex digits; `#` comments and blank lines are ignored; a later line for a UUID
/// replaces an earlier one. New bindings are appended; a release (and every start) rewrites the
/// file atomically (temporary file 0600, fsync, rename, fsync of the directory).
package enum BindingsFile {
    static let header = "# t2u-server device bindings: UUID (percent-encoded) and device public key; later lines win\n"

    /// The bindings in `path`; none when the file does not exist yet.
    package static func load(path: String) throws(BindingsFileError) -> [DeviceBinding] {
        guard let bytes = try readFile(path: path) else { return [] }
        return try parse(bytes, path: path)
    }

    package static func parse(_ bytes: [UInt8], path: String) throws(BindingsFileError) -> [DeviceBinding] {
        var keys: [String: [UInt8]] = [:]
        var order: [String] = []
        for (index, raw) in bytes.split(separator: 0x0A, omittingEmptySubsequences: false).enumerated() {
            guard let text = String(validating: raw, as: UTF8.self) else {
                throw .malformed(path: path, line: index + 1, problem: "not UTF-8 text")
            }
            var line = Substring(text)
            if line.last == "\r" { line = line.dropLast() }
            if line.isEmpty || line.hasPrefix("#") { continue }
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count == 2 else {
                throw .malformed(
                    path: path, line: index + 1,
                    problem: "expected 2 fields separated by a space, found \(fields.count)")
            }
            guard let uuid = decodeUUID(fields[0]) else {
                throw .malformed(
                    path: path, line: index + 1, problem: "the UUID is not valid percent-encoded UTF-8 of 1-255 bytes")
            }
            guard fields[1].utf8.count == 64, let key = Hex.decode(Array(fields[1].utf8)) else {
                throw .malformed(path: path, line: index + 1, problem: "the key is not 64 hex digits")
            }
            if keys.updateValue(key, forKey: uuid) == nil { order.append(uuid) }
        }
        return order.map { DeviceBinding(uuid: $0, publicKey: keys[$0]!) }
    }

    package static func line(_ binding: DeviceBinding) -> String {
        encodeUUID(binding.uuid) + " " + Hex.encode(binding.publicKey) + "\n"
    }

    /// Replaces the file with exactly `bindings`, atomically.
    package static func rewrite(path: String, bindings: [DeviceBinding]) throws(BindingsFileError) {
        let text = header + bindings.sorted { $0.uuid < $1.uuid }.map(line).joined()
        do {
            try KeyFile.replacePrivate(path: path, what: "bindings file", contents: Array(text.utf8))
        } catch {
            guard case .io(let failed, _, let operation, let code) = error else {
                throw .io(path: path, operation: "write", errno: EIO)
            }
            throw .io(path: failed, operation: operation, errno: code)
        }
    }

    /// Appends `bindings` (new or moved UUIDs) and syncs.
    package static func append(path: String, bindings: [DeviceBinding]) throws(BindingsFileError) {
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { throw .io(path: path, operation: "open", errno: errno) }
        defer { close(fd) }
        try writeAll(fd, Array(bindings.map(line).joined().utf8), path: path)
        guard fsync(fd) == 0 else { throw .io(path: path, operation: "sync", errno: errno) }
    }

    // MARK: UUID encoding (a UUID never breaks a line or a field)

    static func encodeUUID(_ uuid: String) -> String {
        var out = ""
        for byte in uuid.utf8 {
            if byte > 0x20 && byte < 0x7F && byte != UInt8(ascii: "%") {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                out += "%" + Hex.encode([byte]).uppercased()
            }
        }
        return out
    }

    static func decodeUUID(_ field: Substring) -> String? {
        var bytes: [UInt8] = []
        var utf8 = field.utf8[...]
        while let byte = utf8.popFirst() {
            if byte == UInt8(ascii: "%") {
                guard utf8.count >= 2, let decoded = Hex.decode(Array(utf8.prefix(2))) else { return nil }
                bytes += decoded
                utf8 = utf8.dropFirst(2)
            } else {
                bytes.append(byte)
            }
        }
        guard (1...255).contains(bytes.count) else { return nil }
        return String(validating: bytes, as: UTF8.self)
    }

    // MARK: I/O

    private static func readFile(path: String) throws(BindingsFileError) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else {
            if errno == ENOENT { return nil }
            throw .io(path: path, operation: "open", errno: errno)
        }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .io(path: path, operation: "read", errno: errno)
            }
            if n == 0 { break }
            bytes += chunk[0..<n]
        }
        return bytes
    }

    private static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws(BindingsFileError) {
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + written, $0.count - written) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .io(path: path, operation: "write", errno: errno)
            }
            written += n
        }
    }
}
