// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// The text `t2u_search` writes: one `uuid=...,ip=...\n` line per device, as many whole lines
/// as fit in the caller's buffer (with the NUL), never a cut line. A C caller parses lines, so
/// half a line would be a wrong UUID or address; `count` says how many lines were written.
public struct SearchReport: Equatable, Sendable {
    public var text: String
    public var count: Int

    /// nil when devices were found but not even one whole line fits `capacity` bytes (the
    /// buffer size including the NUL): the caller gets -1, so 0 always means "none found".
    public init?(_ devices: [DiscoveredDevice], capacity: Int) {
        var text = ""
        var used = 1  // the NUL
        var count = 0
        for device in devices {
            let line = "uuid=\(device.uuid),ip=\(device.ip)\n"
            let length = line.utf8.count
            guard used + length <= capacity else { break }
            text += line
            used += length
            count += 1
        }
        if count == 0 && !devices.isEmpty { return nil }
        self.text = text
        self.count = count
    }
}
