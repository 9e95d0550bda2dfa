// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

extension StringProtocol {
    /// Without leading and trailing spaces, tabs and line breaks (Foundation-free).
    var trimmingSpaces: String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n" || $0 == "\r\n" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else {
            return ""
        }
        return String(self[first...last])
    }
}
