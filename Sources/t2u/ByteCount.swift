// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import ArgumentParser

/// A byte count for options: digits with an optional K, M or G suffix (powers of 1024).
struct ByteCount: ExpressibleByArgument, Sendable, CustomStringConvertible {
    var value: UInt64

    init(_ value: UInt64) { self.value = value }

    init?(argument: String) {
        var text = argument.uppercased()
        if text.hasSuffix("B") { text.removeLast() }
        var multiplier: UInt64 = 1
        switch text.last {
        case "K": multiplier = 1 << 10
        case "M": multiplier = 1 << 20
        case "G": multiplier = 1 << 30
        default: break
        }
        if multiplier != 1 { text.removeLast() }
        guard let number = UInt64(text) else { return nil }
        let (product, overflow) = number.multipliedReportingOverflow(by: multiplier)
        guard !overflow else { return nil }
        value = product
    }

    var description: String {
        if value >= 1 << 20 && value % (1 << 20) == 0 { return "\(value >> 20)M" }
        return "\(value)"
    }

    var defaultValueDescription: String { description }
}
