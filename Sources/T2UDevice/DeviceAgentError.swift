// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import T2UNIO

/// Why a device agent cannot start, or cannot take a new password or certificate. Descriptions
/// say what is wrong and what to do.
public enum DeviceAgentError: Error, Equatable, Sendable, CustomStringConvertible {
    /// An `--allow` entry does not parse.
    case invalidAllowEntry(String, reason: String)
    /// The state file (device key) is corrupt, unreadable, or unsafe (other users may read it).
    case stateFile(KeyFileError)
    case invalidOptions(String)
    case serverUnresolvable(String)
    case alreadyStarted
    case shutDown
    /// A running value (password, certificate) was to change, but the agent is not running.
    case notRunning

    public var description: String {
        switch self {
        case .invalidAllowEntry(let entry, let reason):
            return "invalid --allow entry '\(entry)': \(reason)"
        case .stateFile(let error):
            return error.description
        case .invalidOptions(let text):
            return "invalid options: \(text)"
        case .serverUnresolvable(let host):
            return "cannot resolve server address '\(host)'"
        case .alreadyStarted:
            return "the device agent was already started"
        case .shutDown:
            return "the device agent was shut down"
        case .notRunning:
            return "the device agent is not running (starting or stopping); try again once it runs"
        }
    }
}
