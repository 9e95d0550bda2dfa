#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the t2u authors
"""Checks that every target imports exactly the modules Package.swift declares for it.

An import without a declaration builds only by accident (a transitive module happened to be
visible) and breaks with the next dependency change; a declaration without an import links code
nobody uses. Reads the manifest through `swift package dump-package`, so it sees what SwiftPM sees.

    scripts/check-dependencies.py        # exit 1 and one line per mismatch
"""
import json
import os
import re
import subprocess
import sys

# Modules of the platform and toolchain: never declared in a manifest.
SYSTEM_MODULES = {"Darwin", "Glibc", "Musl", "Foundation", "Dispatch", "Synchronization", "Testing", "XCTest"}
IMPORT = re.compile(r"^\s*(?:@[A-Za-z_]+(?:\([^)]*\))?\s+)*import\s+(?:(?:struct|class|enum|protocol|func|var|typealias)\s+)?([A-Za-z0-9_]+)", re.M)


def declared(target):
    names = set()
    for dep in target["dependencies"]:
        kind, value = next(iter(dep.items()))
        names.add(value[0])  # byName, target or product: the module name comes first
    return names


def imported(folder):
    names = set()
    for root, _, files in os.walk(folder):
        for name in files:
            if name.endswith(".swift"):
                with open(os.path.join(root, name), encoding="utf-8") as source:
                    names.update(IMPORT.findall(source.read()))
    return names


def main():
    os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    manifest = json.loads(subprocess.run(["swift", "package", "dump-package"], check=True,
                                         capture_output=True, text=True).stdout)
    problems = []
    for target in manifest["targets"]:
        if target["type"] not in ("regular", "executable", "test"):
            continue
        folder = target.get("path") or os.path.join("Tests" if target["type"] == "test" else "Sources", target["name"])
        if not os.path.isdir(folder):
            continue
        uses = imported(folder) - SYSTEM_MODULES - {target["name"]}
        has = declared(target)
        for module in sorted(uses - has):
            problems.append(f"{target['name']}: imports {module} but Package.swift does not declare it: add it to the target's dependencies")
        for module in sorted(has - uses):
            problems.append(f"{target['name']}: declares {module} but never imports it: remove it from the target's dependencies")
    for line in problems:
        print(line)
    if problems:
        print(f"check-dependencies: {len(problems)} mismatch(es) between imports and Package.swift", file=sys.stderr)
        return 1
    print("check-dependencies: every target imports exactly what it declares")
    return 0


if __name__ == "__main__":
    sys.exit(main())
