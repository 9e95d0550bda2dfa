import T2UCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The device's X25519 private key on disk: 64 hex digits (and an optional newline), mode 0600.
/// Created on first start and reused afterwards, so the public key clients pinned stays valid.
enum DeviceKeyFile {
    static let keyLength = 32

    /// Loads the key at `path`, or creates the file with a fresh key from `entropy`.
    static func loadOrCreate(path: String, entropy: EntropySource) throws(DeviceAgentError) -> StaticIdentity {
        if let contents = try readContents(path: path) {
            let key = try parse(contents, path: path)
            do {
                return try StaticIdentity(rawPrivateKey: key)
            } catch {
                throw .corruptStateFile(path: path, problem: "not an X25519 private key")
            }
        }
        let key = entropy.bytes(keyLength)
        try create(path: path, contents: Array((hex(key) + "\n").utf8))
        do {
            return try StaticIdentity(rawPrivateKey: key)
        } catch {
            throw .corruptStateFile(path: path, problem: "not an X25519 private key")
        }
    }

    /// nil when the file does not exist.
    private static func readContents(path: String) throws(DeviceAgentError) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT { return nil }
            throw .stateFileIO(path: path, operation: "open", errno: errno)
        }
        defer { close(fd) }
        // A valid file is 64 or 65 bytes; read a little more to notice trailing junk.
        var buffer = [UInt8](repeating: 0, count: 256)
        var total = 0
        while total < buffer.count {
            let n = buffer.withUnsafeMutableBytes { raw in
                read(fd, raw.baseAddress! + total, raw.count - total)
            }
            if n < 0 {
                if errno == EINTR { continue }
                throw .stateFileIO(path: path, operation: "read", errno: errno)
            }
            if n == 0 { break }
            total += n
        }
        return Array(buffer[0..<total])
    }

    static func parse(_ contents: [UInt8], path: String) throws(DeviceAgentError) -> [UInt8] {
        var text = contents[...]
        while let last = text.last, last == UInt8(ascii: "\n") || last == UInt8(ascii: "\r") || last == UInt8(ascii: " ") {
            text = text.dropLast()
        }
        guard text.count == keyLength * 2 else {
            throw .corruptStateFile(path: path, problem: "expected \(keyLength * 2) hex digits, found \(text.count) bytes")
        }
        var key: [UInt8] = []
        key.reserveCapacity(keyLength)
        var index = text.startIndex
        while index < text.endIndex {
            guard let high = nibble(text[index]), let low = nibble(text[index + 1]) else {
                throw .corruptStateFile(path: path, problem: "not hexadecimal")
            }
            key.append(high << 4 | low)
            index += 2
        }
        return key
    }

    /// Writes a new file readable by the owner only; never replaces an existing one.
    private static func create(path: String, contents: [UInt8]) throws(DeviceAgentError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .stateFileIO(path: path, operation: "create", errno: errno) }
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
                throw .stateFileIO(path: path, operation: "write", errno: code)
            }
            written += n
        }
        let synced = fsync(fd)
        let code = errno
        close(fd)
        if synced != 0 { throw .stateFileIO(path: path, operation: "sync", errno: code) }
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
