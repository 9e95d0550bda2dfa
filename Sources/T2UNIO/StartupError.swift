// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// Stops a program before it starts: ArgumentParser prints one line on stderr ("Error: ..."),
/// exit status 1, and, unlike a ValidationError, no usage text (the arguments were fine; the
/// environment was not: a file, a port, a key).
public struct StartupError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
