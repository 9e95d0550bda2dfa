// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Foundation
import T2UClient

// How statuses, paths and amounts read for people.

extension ServerConnectionStatus {
    package var words: String {
        switch self {
        case .connected: return "connected"
        case .connecting: return "connecting"
        case .keyRejected: return "server key rejected"
        }
    }

    /// The words with what to do.
    package var explained: String {
        switch self {
        case .connected: return "connected"
        case .connecting: return "connecting (the server answered; registration not finished yet: try a longer --wait)"
        case .keyRejected:
            return
                "server key rejected: the server's key is not --key (or T2U_SERVER_KEY); compare with `t2u-server --print-public-key` on the server"
        }
    }
}

extension PortStatus {
    package var words: String {
        switch self {
        case .connected: return "connected"
        case .connecting: return "connecting"
        case .noSuchPort: return "no such port"
        case .p2pFailed: return "P2P failed, retrying"
        case .interrupted: return "link interrupted, retrying"
        case .deviceOffline: return "device offline, retrying"
        case .passwordRejected: return "device password rejected"
        case .deviceKeyChanged: return "device key changed, refused (see the error), retrying"
        }
    }
}

/// The words for an `OnDisconnect` code.
package func disconnectWords(_ code: Int32) -> String {
    PortStatus(rawValue: code)?.words ?? "disconnected (code \(code))"
}

extension PathInfo {
    /// "direct", "LAN" or "relay".
    package var kind: String { relayed ? "relay" : (lan ? "LAN" : "direct") }

    package var words: String {
        if peerIP.isEmpty { return kind }
        return relayed ? "relay (server \(peerIP):\(peerPort))" : "\(kind) (\(peerIP):\(peerPort))"
    }
}

package func fixed(_ value: Double, _ digits: Int) -> String {
    String(format: "%.\(digits)f", value)
}

/// 1536 -> "1.5 KB" (powers of 1024, like the SDK's KB/s).
package func amount(_ bytes: Double) -> String {
    let units = ["B", "KB", "MB", "GB", "TB"]
    var value = bytes
    var unit = 0
    while value >= 1024 && unit < units.count - 1 {
        value /= 1024
        unit += 1
    }
    return unit == 0 ? "\(Int(value)) B" : "\(fixed(value, 1)) \(units[unit])"
}

/// A rate the SDK gives in KB/s.
package func rate(kilobytesPerSecond: Float) -> String {
    amount(Double(kilobytesPerSecond) * 1024) + "/s"
}
