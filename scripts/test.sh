#!/usr/bin/env bash
# All tests: unit, fuzz (bounded), deterministic simulation, and loopback NIO tests, then the C
# ABI end to end (libt2u.so + t2u-server + t2usvr on loopback, Tests/cabi/run.sh), then `t2u demo`.
# Release mode with testability: the simulations push tens of megabytes through real crypto.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --build-tests -Xswiftc -enable-testing
swift test -c release -Xswiftc -enable-testing --skip-build
# Same flags, so the C ABI run reuses the modules built above.
T2U_SWIFT_BUILD_FLAGS="-Xswiftc -enable-testing" Tests/cabi/run.sh

# --- t2u demo: server, device agent and client end to end on loopback (owner: t2u CLI) ---
# Uses the release build above; the demo exits non-zero unless every transfer was verified.
t2u_bin="$(swift build -c release -Xswiftc -enable-testing --show-bin-path)/t2u"
demo_log="$(mktemp)"
if ! "$t2u_bin" demo --bytes 20000000 --timeout 60 | tee "$demo_log"; then
    echo "test.sh: t2u demo failed" >&2
    exit 1
fi
if ! grep -q "^demo verified" "$demo_log"; then
    echo "test.sh: t2u demo did not report verified transfers" >&2
    exit 1
fi
rm -f "$demo_log"
# --- end t2u demo ---
