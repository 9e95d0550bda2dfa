// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Foundation
import PackagePlugin

/// Writes the build's version (from `git describe` of the package) into a generated Swift file
/// before every build, so `--version`, `/status` and `t2u_version()` name the commit they were
/// built from. A prebuild command: it runs on every build, and the script rewrites the file only
/// when the string changed, so an unchanged tree recompiles nothing.
@main
struct VersionPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let output = context.pluginWorkDirectoryURL.appending(path: "generated")
        let script = context.package.directoryURL.appending(path: "scripts/version.sh")
        return [
            .prebuildCommand(
                displayName: "t2u version from git",
                executable: URL(filePath: "/bin/sh"),
                arguments: [
                    script.path(percentEncoded: false), "--swift",
                    output.appending(path: "GeneratedVersion.swift").path(percentEncoded: false),
                ],
                outputFilesDirectory: output)
        ]
    }
}
