// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import ArgumentParser
import Foundation

/// `--json`: one JSON document on stdout instead of the lines for people (scripts, monitoring).
/// Diagnostics stay on stderr; exit statuses are the same as without it.
struct JSONOutputOptions: ParsableArguments {
    @Flag(name: .long, help: "Print one JSON document on stdout instead of text (same exit status).")
    var json = false
}

/// Prints `object` (dictionaries, arrays, strings, numbers, booleans) as one line of JSON with
/// sorted keys.
func printJSON(_ object: Any) {
    let data =
        (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]))
        ?? Data("null".utf8)
    print(String(decoding: data, as: UTF8.self))
}
