// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import T2UCore

/// Where a client keeps the device keys it pinned (`T2UClientOptions.knownDevices`).
public enum KnownDevicesLocation: Sendable, Equatable {
    /// `$T2U_KNOWN_DEVICES`, else `$XDG_CONFIG_HOME/t2u/known_devices`, else
    /// `$HOME/.config/t2u/known_devices`.
    case `default`
    case file(String)
    /// Pins live as long as the client (tests, the demo): nothing survives a restart.
    case memory
}

/// The pins of a known-devices file: one `UUID KEY` line per device (KEY: the device's X25519
/// public key, 64 hex digits), blank lines and `#` comments ignored, LF or CRLF line ends.
/// Parsing is strict: a line that is not understood makes the whole file unusable, so a client
/// never connects while ignoring a pin it could not read.
public struct KnownDevices: Sendable, Equatable {
    public struct Pin: Sendable, Equatable {
        public var key: [UInt8]
        /// 1-based line in the file (0: pinned in memory).
        public var line: Int
    }

    public private(set) var pins: [String: Pin] = [:]
    /// Lines in the parsed text (the next appended pin's line is `lineCount + 1`).
    public private(set) var lineCount = 0

    static let keyLength = 32

    public init() {}

    public init(parsing bytes: [UInt8], path: String) throws(KnownDevicesError) {
        var lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        if bytes.isEmpty || bytes.last == UInt8(ascii: "\n") { lines.removeLast() }
        for (index, rawLine) in lines.enumerated() {
            let number = index + 1
            var line = rawLine[...]
            if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
            let fields = line.split(whereSeparator: { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") })
            guard let first = fields.first, first.first != UInt8(ascii: "#") else { continue }
            guard fields.count == 2 else {
                throw .malformed(
                    path: path, line: number, problem: "expected 'UUID KEY' (two fields), found \(fields.count)")
            }
            let uuid = String(decoding: first, as: UTF8.self)
            guard Self.isValidUUID(uuid) else {
                throw .malformed(
                    path: path, line: number, problem: "the UUID is not 1-64 printable ASCII characters without spaces")
            }
            guard fields[1].count == Self.keyLength * 2, let key = Hex.decode(fields[1]) else {
                throw .malformed(
                    path: path, line: number, problem: "the key of \(uuid) is not \(Self.keyLength * 2) hex digits")
            }
            if let earlier = pins[uuid] {
                throw .malformed(path: path, line: number, problem: "\(uuid) is already pinned on line \(earlier.line)")
            }
            pins[uuid] = Pin(key: key, line: number)
        }
        lineCount = lines.count
    }

    /// What a file line says for `uuid` and `key`: `UUID KEY\n`.
    public static func line(uuid: String, key: [UInt8]) -> String { "\(uuid) \(Hex.encode(key))\n" }

    /// Printable ASCII without spaces, 1-64 bytes (what a pin line can hold unambiguously).
    public static func isValidUUID(_ uuid: String) -> Bool {
        let bytes = uuid.utf8
        return (1...SignalingLimits.maxUUIDLength).contains(bytes.count)
            && bytes.allSatisfy { (0x21...0x7E).contains($0) }
    }

    /// How `key` relates to the pins.
    public func check(uuid: String, key: [UInt8]) -> PinCheck {
        guard let pin = pins[uuid] else { return .unknown }
        return pin.key == key ? .matches : .differs(pin)
    }

    /// Adds a pin for a UUID that has none (in memory; `KnownDevicesFile` writes files).
    mutating func add(uuid: String, key: [UInt8]) {
        lineCount += 1
        pins[uuid] = Pin(key: key, line: lineCount)
    }

    public enum PinCheck: Sendable, Equatable {
        case unknown
        case matches
        case differs(Pin)
    }
}

/// A device presented a key other than the one pinned for its UUID: the connection is refused
/// (port status -6). `description` says what happened and how to accept the change.
public struct DeviceKeyChange: Sendable, Equatable, CustomStringConvertible {
    public var uuid: String
    public var pinnedKey: [UInt8]
    public var presentedKey: [UInt8]
    /// The known-devices file and the pin's line; nil path: pinned in memory.
    public var path: String?
    public var line: Int

    public init(uuid: String, pinnedKey: [UInt8], presentedKey: [UInt8], path: String?, line: Int) {
        self.uuid = uuid
        self.pinnedKey = pinnedKey
        self.presentedKey = presentedKey
        self.path = path
        self.line = line
    }

    public var description: String {
        let fix =
            path.map {
                "if the device was reset or replaced on purpose, delete line \(line) of \($0) and connect again"
            }
            ?? "the pin is in memory only (knownDevices = .memory): restart the client to forget it"
        return
            "device key changed: \(uuid) presents key \(Hex.encode(presentedKey)) but is pinned to \(Hex.encode(pinnedKey)); "
            + "refusing to connect (someone may be impersonating the device); \(fix)"
    }
}

/// Why the known-devices file cannot be used. Descriptions say what is wrong and what to do.
public enum KnownDevicesError: Error, Sendable, Equatable, CustomStringConvertible {
    case malformed(path: String, line: Int, problem: String)
    case unsafe(path: String, problem: String)
    case io(path: String, operation: String, errno: Int32)
    /// `.default` found neither T2U_KNOWN_DEVICES, XDG_CONFIG_HOME nor HOME.
    case noLocation

    public var description: String {
        switch self {
        case .malformed(let path, let line, let problem):
            "known-devices file \(path) line \(line): \(problem); fix or delete that line (each line is 'UUID KEY', "
                + "KEY 64 hex digits; # starts a comment). Refusing to connect rather than ignore the file"
        case .unsafe(let path, let problem):
            "refusing known-devices file \(path): \(problem); run `chmod 600 \(path)` and use the real file, not a link"
        case .io(let path, let operation, let code):
            "cannot \(operation) known-devices file \(path): \(errnoText(code)) (errno \(code)); "
                + "check that its directory is writable by this user, or choose another with T2U_KNOWN_DEVICES"
        case .noLocation:
            "no place for the known-devices file: set T2U_KNOWN_DEVICES (or HOME), or pass a path (t2u --known-devices)"
        }
    }
}
