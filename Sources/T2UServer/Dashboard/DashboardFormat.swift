// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// Figures as people read them on the dashboard (no Foundation in the server library).
enum DashboardFormat {
    /// 1536 -> "1.5 KiB"; below 1 KiB the exact count of bytes.
    static func bytes(_ count: UInt64) -> String {
        let units = ["KiB", "MiB", "GiB", "TiB", "PiB"]
        guard count >= 1024 else { return "\(count) B" }
        var value = Double(count) / 1024
        var unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return oneDecimal(value) + " " + units[unit]
    }

    /// Bytes per second as bits per second: "12.5 Mbit/s".
    static func rate(bytesPerSecond: Double) -> String {
        guard bytesPerSecond.isFinite, bytesPerSecond > 0 else { return "0 bit/s" }
        var value = bytesPerSecond * 8
        for unit in ["bit/s", "kbit/s", "Mbit/s", "Gbit/s"] {
            if value < 1000 { return (unit == "bit/s" ? String(Int(value.rounded())) : oneDecimal(value)) + " " + unit }
            value /= 1000
        }
        return oneDecimal(value) + " Tbit/s"
    }

    /// 42 -> "42 s", 3725 -> "1 h 02 min", 200000 -> "2 d 07 h".
    static func duration(seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "?" }
        let s = Int(seconds)
        if s < 60 { return "\(s) s" }
        if s < 3600 { return "\(s / 60) min \(twoDigits(s % 60)) s" }
        if s < 86400 { return "\(s / 3600) h \(twoDigits(s / 60 % 60)) min" }
        return "\(s / 86400) d \(twoDigits(s / 3600 % 24)) h"
    }

    /// 61000000 -> "61 000 000" (narrow no-break spaces: no line break inside a number).
    static func count<T: BinaryInteger>(_ n: T) -> String {
        let digits = String(n.magnitude)
        var out = n < 0 ? "-" : ""
        for (index, digit) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { out += "\u{202F}" }
            out.append(digit)
        }
        return out
    }

    /// 0.756 -> "76 %".
    static func percent(_ share: Double) -> String {
        guard share.isFinite else { return "?" }
        return "\(Int((share * 100).rounded())) %"
    }

    static func oneDecimal(_ value: Double) -> String {
        let tenths = Int((value * 10).rounded())
        return "\(tenths / 10).\(abs(tenths % 10))"
    }

    private static func twoDigits(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
}
