// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import ArgumentParser
import Logging
import T2UVersion

@main
struct T2UBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "t2u-bench",
        abstract: "t2u benchmarks: each prints a table and ends with one RESULT line.",
        version: T2UVersion.string,
        subcommands: [TransportBenchmark.self, ServerBenchmark.self, SetupBenchmark.self, RelayBenchmark.self]
    )
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
