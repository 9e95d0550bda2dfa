// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import T2UNIO

/// The client's device-key pins: in a known-devices file (read again at every check, so pins
/// other clients wrote and lines the user deleted count at once) or in memory. Trust on first
/// use: the first key seen for a UUID is pinned; a different key later is refused.
/// Confined to the SDK loop.
struct DevicePins {
    enum Decision: Equatable {
        case trusted
        /// Pinned now: first contact (`line` 0 in memory).
        case pinnedNow(line: Int)
        case changed(DeviceKeyChange)
        /// The file cannot be read or written: refuse rather than connect unpinned.
        case failed(KnownDevicesError)
    }

    /// nil: in memory.
    let path: String?
    private var memory = KnownDevices()

    /// Resolves the location and reads the file once, so a malformed file stops the client at
    /// start instead of at the first connection.
    init(
        location: KnownDevicesLocation, environment: (String) -> String? = CommandLineSecret.processEnvironment
    )
        throws(KnownDevicesError)
    {
        switch location {
        case .memory: path = nil
        case .file(let file): path = file
        case .default: path = try KnownDevicesFile.defaultPath(environment: environment)
        }
        if let path { _ = try KnownDevicesFile.load(path: path) }
    }

    /// Checks `key` for `uuid` and pins it on first contact.
    mutating func trust(_ key: [UInt8], for uuid: String) -> Decision {
        guard let path else {
            switch memory.check(uuid: uuid, key: key) {
            case .matches: return .trusted
            case .differs(let pin): return .changed(change(uuid: uuid, presented: key, pin: pin))
            case .unknown:
                memory.add(uuid: uuid, key: key)
                return .pinnedNow(line: 0)
            }
        }
        do {
            switch try KnownDevicesFile.pin(uuid: uuid, key: key, path: path) {
            case .matched: return .trusted
            case .pinned(let line): return .pinnedNow(line: line)
            case .differs(let pin): return .changed(change(uuid: uuid, presented: key, pin: pin))
            }
        } catch {
            return .failed(error)
        }
    }

    /// The key pinned for `uuid`, if any (nil also when the file cannot be read: the CONNECT
    /// answer brings the key, and `trust` then reports the file's problem).
    func pinnedKey(for uuid: String) -> [UInt8]? {
        guard let path else { return memory.pins[uuid]?.key }
        return (try? KnownDevicesFile.load(path: path))?.pins[uuid]?.key
    }

    /// Checks `key` for `uuid` without pinning (a query only asks).
    func check(_ key: [UInt8], for uuid: String) -> Decision {
        let known: KnownDevices
        if let path {
            do { known = try KnownDevicesFile.load(path: path) } catch { return .failed(error) }
        } else {
            known = memory
        }
        switch known.check(uuid: uuid, key: key) {
        case .matches, .unknown: return .trusted
        case .differs(let pin): return .changed(change(uuid: uuid, presented: key, pin: pin))
        }
    }

    private func change(uuid: String, presented: [UInt8], pin: KnownDevices.Pin) -> DeviceKeyChange {
        DeviceKeyChange(uuid: uuid, pinnedKey: pin.key, presentedKey: presented, path: path, line: pin.line)
    }
}
