// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// PCP result codes (RFC 6887 §7.4), with words for the logs.
package struct PCPResultCode: RawRepresentable, Equatable, Hashable, Sendable, CustomStringConvertible {
    package let rawValue: UInt8
    package init(rawValue: UInt8) { self.rawValue = rawValue }

    package static let success = PCPResultCode(rawValue: 0)
    package static let unsupportedVersion = PCPResultCode(rawValue: 1)
    package static let notAuthorized = PCPResultCode(rawValue: 2)
    package static let networkFailure = PCPResultCode(rawValue: 7)
    package static let noResources = PCPResultCode(rawValue: 8)
    package static let addressMismatch = PCPResultCode(rawValue: 12)

    /// §7.4: these are short-lived; the request may succeed when repeated later.
    package var isTransient: Bool {
        self == .networkFailure || self == .noResources || rawValue == 10 || rawValue == 13
    }

    package var description: String {
        let names = [
            "success", "unsupported version", "not authorized", "malformed request", "unsupported opcode",
            "unsupported option", "malformed option", "network failure", "no resources", "unsupported protocol",
            "user exceeded quota", "cannot provide external", "address mismatch", "excessive remote peers",
        ]
        return Int(rawValue) < names.count ? names[Int(rawValue)] : "result code \(rawValue)"
    }
}
