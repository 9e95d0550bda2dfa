// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// JSON string literals for the hand-written JSON of logs, `/status` and the admin API (one
/// escaping rule for all: what they quote is often untrusted, e.g. UUIDs and datagram reasons).
package enum JSONText {
    /// `text` as a JSON string literal: quotes, backslashes, control characters and DEL escaped.
    package static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                out += "\\u00" + Hex.encode([UInt8(scalar.value)])
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
