// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import T2UCore

/// Text for HTML pages built from untrusted strings (device UUIDs, extra parameters, server IDs).
/// One escape for element text and quoted attribute values alike.
enum HTMLText {
    /// `text` safe in element content and in a double- or single-quoted attribute: the five
    /// markup characters become entities, and invisible or reordering characters (controls,
    /// bidirectional overrides, zero-width) become a visible `\u{…}` so a UUID cannot hide or
    /// disguise itself on the page.
    static func escaped(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default:
                if isHidden(scalar) {
                    out += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }

    /// Raw bytes (an agent's extra parameters) as escaped text: UTF-8 as such, anything else as
    /// hex; cut at `limit` characters with an ellipsis.
    static func escaped(bytes: [UInt8], limit: Int = 80) -> String {
        var text: String
        if let utf8 = String(validating: bytes, as: UTF8.self) {
            text = utf8
        } else {
            text = "0x" + Hex.encode(bytes)
        }
        if text.count > limit { text = String(text.prefix(limit)) + "…" }
        return escaped(text)
    }

    /// C0/C1 controls, DEL, bidirectional controls, zero-width and line/paragraph separators.
    private static func isHidden(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00...0x1F, 0x7F...0x9F: true
        case 0x200B...0x200F, 0x2028...0x202E, 0x2060...0x2069, 0xFEFF: true
        default: false
        }
    }
}
