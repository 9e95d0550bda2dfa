// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// Just enough XML for IGD descriptions and SOAP answers: the text of elements found by local
/// name (namespace prefixes ignored), entities decoded. Not a validating parser; it never
/// recurses and looks at each byte a bounded number of times.
struct XMLScanner {
    let text: [UInt8]

    init(_ bytes: [UInt8]) { text = bytes }

    /// Byte ranges of the contents of elements named `name`, in document order (not nested in
    /// each other: the first closing tag of that name ends an element).
    func elements(_ name: String, in range: Range<Int>? = nil) -> [Range<Int>] {
        var found: [Range<Int>] = []
        var i = range?.lowerBound ?? 0
        let end = range?.upperBound ?? text.count
        while let open = nextTag(from: i, end: end) {
            i = open.after
            guard !open.closing, !open.selfClosing, open.name == name else { continue }
            var j = open.after
            while let close = nextTag(from: j, end: end) {
                j = close.after
                if close.closing, close.name == name {
                    found.append(open.after..<close.start)
                    break
                }
            }
            i = j
        }
        return found
    }

    /// The decoded, trimmed text of the first element `name` (in `range`).
    func firstText(_ name: String, in range: Range<Int>? = nil) -> String? {
        guard let r = elements(name, in: range).first else { return nil }
        return Self.decode(String(decoding: text[r], as: UTF8.self)).trimmingSpaces
    }

    private struct Tag {
        var start: Int
        var after: Int
        var name: String
        var closing: Bool
        var selfClosing: Bool
    }

    private func nextTag(from: Int, end: Int) -> Tag? {
        var i = from
        while i < end {
            guard text[i] == UInt8(ascii: "<") else {
                i += 1
                continue
            }
            guard let gt = text[(i + 1)..<end].firstIndex(of: UInt8(ascii: ">")) else { return nil }
            var inner = text[(i + 1)..<gt]
            let closing = inner.first == UInt8(ascii: "/")
            if closing { inner = inner.dropFirst() }
            let selfClosing = inner.last == UInt8(ascii: "/")
            let nameBytes = inner.prefix {
                $0 != 0x20 && $0 != 0x09 && $0 != 0x0A && $0 != 0x0D && $0 != UInt8(ascii: "/")
            }
            var name = String(decoding: nameBytes, as: UTF8.self)
            if let colon = name.lastIndex(of: ":") { name = String(name[name.index(after: colon)...]) }
            return Tag(start: i, after: gt + 1, name: name, closing: closing, selfClosing: selfClosing)
        }
        return nil
    }

    static func decode(_ s: String) -> String {
        guard s.contains("&") else { return s }
        return s.replacingAll("&lt;", "<").replacingAll("&gt;", ">").replacingAll("&quot;", "\"")
            .replacingAll("&apos;", "'").replacingAll("&amp;", "&")
    }

    static func escape(_ s: String) -> String {
        s.replacingAll("&", "&amp;").replacingAll("<", "&lt;").replacingAll(">", "&gt;")
    }
}

extension String {
    /// Every occurrence of `target` replaced (Foundation-free).
    func replacingAll(_ target: String, _ replacement: String) -> String {
        guard !target.isEmpty, contains(target) else { return self }
        var out = ""
        var rest = self[...]
        while let r = rest.range(of: target) {
            out += rest[..<r.lowerBound]
            out += replacement
            rest = rest[r.upperBound...]
        }
        return out + rest
    }
}

extension Substring {
    func range(of target: String) -> Range<Index>? {
        guard let first = target.first else { return nil }
        var i = startIndex
        while let start = self[i...].firstIndex(of: first) {
            if self[start...].hasPrefix(target) {
                return start..<(index(start, offsetBy: target.count))
            }
            i = index(after: start)
        }
        return nil
    }
}
