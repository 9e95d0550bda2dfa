// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import T2UCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a key or secret file cannot be used. Descriptions say what is wrong and what to do.
public enum KeyFileError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file exists but does not hold what it should.
    case corrupt(path: String, what: String, problem: String)
    case io(path: String, what: String, operation: String, errno: Int32)
    /// Group- or world-accessible, a symlink, or not a regular file: refused as OpenSSH does.
    case unsafe(path: String, what: String, problem: String)

    public var description: String {
        switch self {
        case .corrupt(let path, let what, let problem):
            "\(what) \(path) is corrupt (\(problem)); delete it to generate a new key "
                + "(whoever pinned the old key must then be re-paired), or restore it from a backup"
        case .io(let path, let what, let operation, let code):
            "cannot \(operation) \(what) \(path): \(String(cString: strerror(code))) (errno \(code)); "
                + "check that the directory exists and is writable by this user"
        case .unsafe(let path, let what, let problem):
            "refusing \(what) \(path): \(problem); run `chmod 600 \(path)` and use the real file, not a link"
        }
    }
}

/// Private keys and secrets on disk: an X25519 key as 64 hex digits (and an optional newline),
/// created mode 0600 and reused, so the public key others pinned stays valid. Files are opened
/// without following symlinks and refused when group/world-accessible, so a secret another user
/// can read (or swap) is never used.
public enum KeyFile {
    static let keyLength = 32

    /// Loads the key at `path`, or creates the file with a fresh key from `entropy`.
    /// `what` names the file in errors ("state file", "server key file").
    public static func loadOrCreate(
        path: String, what: String, entropy: EntropySource
    ) throws(KeyFileError) -> StaticIdentity {
        if let contents = try readPrivate(path: path, what: what, missingIsNil: true) {
            return try identity(parse(contents, path: path, what: what), path: path, what: what)
        }
        let key = entropy.bytes(keyLength)
        try create(path: path, what: what, contents: Array((Hex.encode(key) + "\n").utf8))
        return try identity(key, path: path, what: what)
    }

    /// Loads an existing key file (never creates one).
    public static func load(path: String, what: String) throws(KeyFileError) -> StaticIdentity {
        let contents = try readPrivate(path: path, what: what, missingIsNil: false) ?? []
        return try identity(parse(contents, path: path, what: what), path: path, what: what)
    }

    /// A secret (password, token) from a private file, without a trailing newline.
    public static func readSecret(path: String, what: String) throws(KeyFileError) -> [UInt8] {
        var contents = try readPrivate(path: path, what: what, missingIsNil: false) ?? []
        while let last = contents.last, last == UInt8(ascii: "\n") || last == UInt8(ascii: "\r") {
            contents.removeLast()
        }
        guard !contents.isEmpty else { throw .corrupt(path: path, what: what, problem: "empty") }
        return contents
    }

    static func parse(_ contents: [UInt8], path: String, what: String) throws(KeyFileError) -> [UInt8] {
        var text = contents[...]
        while let last = text.last,
            last == UInt8(ascii: "\n") || last == UInt8(ascii: "\r") || last == UInt8(ascii: " ")
        {
            text = text.dropLast()
        }
        guard text.count == keyLength * 2 else {
            throw .corrupt(
                path: path, what: what, problem: "expected \(keyLength * 2) hex digits, found \(text.count) bytes")
        }
        guard let key = Hex.decode(text) else { throw .corrupt(path: path, what: what, problem: "not hexadecimal") }
        return key
    }

    private static func identity(_ key: [UInt8], path: String, what: String) throws(KeyFileError) -> StaticIdentity {
        do {
            return try StaticIdentity(rawPrivateKey: key)
        } catch {
            throw .corrupt(path: path, what: what, problem: "not an X25519 private key")
        }
    }

    /// The file's bytes (at most 4 KiB), or nil when it does not exist and `missingIsNil`.
    private static func readPrivate(path: String, what: String, missingIsNil: Bool) throws(KeyFileError) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else {
            let code = errno
            if code == ENOENT && missingIsNil { return nil }
            if code == ELOOP { throw .unsafe(path: path, what: what, problem: "it is a symbolic link") }
            throw .io(path: path, what: what, operation: "open", errno: code)
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .io(path: path, what: what, operation: "stat", errno: errno) }
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw .unsafe(path: path, what: what, problem: "not a regular file")
        }
        guard info.st_mode & 0o077 == 0 else {
            throw .unsafe(
                path: path, what: what,
                problem: "mode \(String(info.st_mode & 0o777, radix: 8)) lets other users read it")
        }
        var buffer = [UInt8](repeating: 0, count: 4096)
        var total = 0
        while total < buffer.count {
            let n = buffer.withUnsafeMutableBytes { raw in read(fd, raw.baseAddress! + total, raw.count - total) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .io(path: path, what: what, operation: "read", errno: errno)
            }
            if n == 0 { break }
            total += n
        }
        return Array(buffer[0..<total])
    }

    /// Replaces `path` with `contents` atomically (a temporary file 0600, fsync, rename, fsync of
    /// the directory), so a crash leaves the old file or the new one, never half of either.
    public static func replacePrivate(path: String, what: String, contents: [UInt8]) throws(KeyFileError) {
        let temporary = path + ".tmp"
        unlink(temporary)  // a writer that crashed may have left one
        try create(path: temporary, what: what, contents: contents)
        guard rename(temporary, path) == 0 else {
            let code = errno
            unlink(temporary)
            throw .io(path: path, what: what, operation: "replace", errno: code)
        }
        let slash = path.lastIndex(of: "/")
        let parent = slash.map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
        let directory = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directory >= 0 {
            _ = fsync(directory)
            close(directory)
        }
    }

    /// Writes a new file readable by the owner only; never replaces an existing one.
    private static func create(path: String, what: String, contents: [UInt8]) throws(KeyFileError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { throw .io(path: path, what: what, operation: "create", errno: errno) }
        // The umask cannot widen 0600, but be explicit in case the file system did.
        _ = fchmod(fd, 0o600)
        var written = 0
        while written < contents.count {
            let n = contents.withUnsafeBytes { raw in write(fd, raw.baseAddress! + written, raw.count - written) }
            if n < 0 {
                if errno == EINTR { continue }
                let code = errno
                close(fd)
                unlink(path)
                throw .io(path: path, what: what, operation: "write", errno: code)
            }
            written += n
        }
        let synced = fsync(fd)
        let code = errno
        close(fd)
        if synced != 0 { throw .io(path: path, what: what, operation: "sync", errno: code) }
    }
}
