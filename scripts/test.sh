#!/usr/bin/env bash
# All tests: unit, fuzz (bounded), deterministic simulation, and loopback NIO tests, then the C
# ABI end to end (libt2u.so + t2u-server + t2usvr on loopback, Tests/cabi/run.sh).
# Release mode with testability: the simulations push tens of megabytes through real crypto.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --build-tests -Xswiftc -enable-testing
swift test -c release -Xswiftc -enable-testing --skip-build
# Same flags, so the C ABI run reuses the modules built above.
T2U_SWIFT_BUILD_FLAGS="-Xswiftc -enable-testing" Tests/cabi/run.sh
