// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// The units of the delay line's command line: "20ms", "50mbit", "1%", each either one value for
/// both directions or "A/B" (a->b / b->a).
package enum LineUnits {
    package struct Invalid: Error, CustomStringConvertible {
        package let description: String
    }

    /// "A" or "A/B" into (a->b, b->a), each parsed by `parse`.
    package static func pair<T>(_ text: String, _ parse: (Substring) throws -> T) throws -> (T, T) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        switch parts.count {
        case 1:
            let v = try parse(parts[0])
            return (v, v)
        case 2:
            return (try parse(parts[0]), try parse(parts[1]))
        default:
            throw Invalid(description: "'\(text)': give one value, or two as a->b/b->a")
        }
    }

    /// Nanoseconds from "20ms", "1.5ms", "250us", "2s", "0".
    package static func duration(_ text: Substring) throws -> Int64 {
        try scaled(
            text, units: ["ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9], limit: 60e9,
            what: "a duration is a number with ns, us, ms or s (e.g. 20ms), at most 60 s")
    }

    /// Bits per second from "50mbit", "1gbit", "800kbit", "1000000bit", or 0 (unlimited).
    package static func rate(_ text: Substring) throws -> Int64 {
        try scaled(
            text.lowercased()[...], units: ["bit": 1, "kbit": 1e3, "mbit": 1e6, "gbit": 1e9], limit: 100e9,
            what: "a rate is a number with bit, kbit, mbit or gbit (e.g. 50mbit), at most 100gbit, or 0 for none")
    }

    /// A number times its unit's scale; a bare 0 needs no unit.
    private static func scaled(_ text: Substring, units: [String: Double], limit: Double, what: String) throws -> Int64
    {
        let digits = text.prefix { $0.isNumber || $0 == "." }
        let unit = String(text.dropFirst(digits.count))
        guard let value = Double(digits) else { throw Invalid(description: "'\(text)': \(what)") }
        let scale = unit.isEmpty && value == 0 ? 0 : units[unit]
        guard let scale, value * scale <= limit else { throw Invalid(description: "'\(text)': \(what)") }
        return Int64((value * scale).rounded())
    }

    /// Parts per million from "1%", "0.5%" or "1" (percent).
    package static func lossPPM(_ text: Substring) throws -> Int {
        var body = text
        if body.hasSuffix("%") { body = body.dropLast() }
        guard let value = Double(body), value >= 0, value <= 100 else {
            throw Invalid(description: "'\(text)': loss is a percentage 0...100 (e.g. 1%)")
        }
        return Int((value * 10_000).rounded())
    }

    /// A whole number (frames, bytes); "k" multiplies by 1024.
    package static func count(_ text: Substring) throws -> Int {
        var body = text
        var scale = 1
        if body.hasSuffix("k") || body.hasSuffix("K") {
            body = body.dropLast()
            scale = 1024
        }
        guard let value = Int(body), value >= 0, value <= 1 << 30 else {
            throw Invalid(description: "'\(text)': expected a whole number 0...2^30 (k = 1024)")
        }
        return value * scale
    }
}
