#!/usr/bin/env bash
# All tests: unit, fuzz (bounded), deterministic simulation, and loopback NIO tests.
# Release mode with testability: the simulations push tens of megabytes through real crypto.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --build-tests -Xswiftc -enable-testing
swift test -c release -Xswiftc -enable-testing --skip-build
