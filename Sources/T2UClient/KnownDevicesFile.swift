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

/// The known-devices file on disk. Readers need no lock (a writer replaces the file by rename,
/// so a reader sees the old or the new file, never half of one); writers hold an exclusive
/// `flock` on `PATH.lock` around read-modify-write, so concurrent clients (processes or
/// threads) never lose each other's pins. New files are 0600 in directories created 0700; a
/// file that is a symlink or writable by group/others is refused (someone else could swap pins).
enum KnownDevicesFile {
    /// Files larger than this are refused (about 160,000 pins).
    static let sizeLimit = 16 << 20

    /// Where `.default` points, from the environment.
    static func defaultPath(environment: (String) -> String?) throws(KnownDevicesError) -> String {
        if let path = environment("T2U_KNOWN_DEVICES"), !path.isEmpty { return path }
        // The XDG spec ignores relative values.
        if let config = environment("XDG_CONFIG_HOME"), config.hasPrefix("/") { return config + "/t2u/known_devices" }
        if let home = environment("HOME"), !home.isEmpty { return home + "/.config/t2u/known_devices" }
        throw .noLocation
    }

    /// The pins in `path`; none when the file does not exist yet.
    static func load(path: String) throws(KnownDevicesError) -> KnownDevices {
        guard let bytes = try readBytes(path: path) else { return KnownDevices() }
        return try KnownDevices(parsing: bytes, path: path)
    }

    enum PinOutcome: Equatable {
        /// The file already held this key for the UUID.
        case matched
        /// First contact: the key was appended on `line`.
        case pinned(line: Int)
        /// The file holds another key for the UUID.
        case differs(KnownDevices.Pin)
    }

    /// Pins `key` for `uuid` unless the file (read again under the lock) already pins one.
    static func pin(uuid: String, key: [UInt8], path: String) throws(KnownDevicesError) -> PinOutcome {
        guard KnownDevices.isValidUUID(uuid) else {
            throw .malformed(
                path: path, line: 0,
                problem: "the UUID '\(uuid)' cannot be pinned (1-64 printable ASCII characters without spaces)")
        }
        try createParentDirectories(of: path)
        let lock = try openLock(path: path + ".lock")
        defer { close(lock) }
        let existing = try readBytes(path: path) ?? []
        let known = try KnownDevices(parsing: existing, path: path)
        switch known.check(uuid: uuid, key: key) {
        case .matches: return .matched
        case .differs(let pin): return .differs(pin)
        case .unknown: break
        }
        var contents = existing
        if let last = contents.last, last != UInt8(ascii: "\n") { contents.append(UInt8(ascii: "\n")) }
        if contents.isEmpty {
            contents += Array("# t2u known devices: UUID and the device's public key, pinned on first contact.\n".utf8)
            contents += Array(
                "# A device whose key differs is refused; delete its line if the change is intended.\n".utf8)
        }
        contents += Array(KnownDevices.line(uuid: uuid, key: key).utf8)
        try replace(path: path, with: contents)
        let written = try KnownDevices(parsing: contents, path: path)
        return .pinned(line: written.pins[uuid]?.line ?? written.lineCount)
    }

    // MARK: file system

    /// The file's bytes, nil when it does not exist.
    private static func readBytes(path: String) throws(KnownDevicesError) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else {
            let code = errno
            if code == ENOENT { return nil }
            if code == ELOOP { throw .unsafe(path: path, problem: "it is a symbolic link") }
            throw .io(path: path, operation: "open", errno: code)
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .io(path: path, operation: "stat", errno: errno) }
        guard info.st_mode & S_IFMT == S_IFREG else { throw .unsafe(path: path, problem: "not a regular file") }
        guard info.st_mode & 0o022 == 0 else {
            throw .unsafe(
                path: path, problem: "mode \(String(info.st_mode & 0o777, radix: 8)) lets other users change the pins")
        }
        guard Int(info.st_size) <= sizeLimit else {
            throw .unsafe(path: path, problem: "larger than \(sizeLimit) bytes")
        }
        var contents: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { raw in read(fd, raw.baseAddress!, raw.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .io(path: path, operation: "read", errno: errno)
            }
            if n == 0 { return contents }
            contents += chunk[0..<n]
            guard contents.count <= sizeLimit else {
                throw .unsafe(path: path, problem: "larger than \(sizeLimit) bytes")
            }
        }
    }

    private static func openLock(path: String) throws(KnownDevicesError) -> Int32 {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { throw .io(path: path, operation: "open the lock", errno: errno) }
        while flock(fd, LOCK_EX) != 0 {
            guard errno == EINTR else {
                let code = errno
                close(fd)
                throw .io(path: path, operation: "lock", errno: code)
            }
        }
        return fd
    }

    /// Replaces the file atomically (`KeyFile.replacePrivate`).
    private static func replace(path: String, with contents: [UInt8]) throws(KnownDevicesError) {
        do {
            try KeyFile.replacePrivate(path: path, what: "known-devices file", contents: contents)
        } catch {
            guard case .io(let failed, _, let operation, let code) = error else {
                throw .io(path: path, operation: "write", errno: EIO)
            }
            throw .io(path: failed, operation: operation, errno: code)
        }
    }

    private static func parentDirectory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// `mkdir -p` of the file's directory; directories it creates are 0700.
    private static func createParentDirectories(of path: String) throws(KnownDevicesError) {
        let directory = parentDirectory(of: path)
        var prefix = directory.hasPrefix("/") ? "" : "."
        for component in directory.split(separator: "/") {
            prefix += "/" + component
            if mkdir(prefix, 0o700) != 0 && errno != EEXIST {
                throw .io(path: prefix, operation: "create the directory for", errno: errno)
            }
        }
    }
}

func errnoText(_ code: Int32) -> String { String(cString: strerror(code)) }
