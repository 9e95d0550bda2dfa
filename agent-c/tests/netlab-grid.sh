#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the t2u authors
# The NAT lab's traversal grid (Tests/netlab/grid.sh, root only) with the C agent as the device:
# a bin folder of the Swift t2u and t2u-server beside the C agent named t2usvr. Asserts what the
# grid asserts of the Swift agent: every cell connects and moves its data byte-exact, the same-LAN
# cell takes the LAN path, and every cell but symmetric x symmetric goes direct (cone x symmetric
# and symmetric x cone by the birthday sockets and spray), and a router whose conntrack clashes
# at either side goes direct (the C agent waits when told the client sends first). All 21 cells
# take about 8 minutes;
# agent-c/test.sh runs them as root (CI), or when CAGENT_NETLAB=1.
#   tests/netlab-grid.sh [AGENT [grid.sh options]]     env: T2U_BIN (Swift binaries)
set -euo pipefail
cd "$(dirname "$0")/.."
AGENT="$(cd "$(dirname "${1:-build/t2usvr-c}")" && pwd)/$(basename "${1:-build/t2usvr-c}")"
T2U_BIN="${T2U_BIN:-/tmp/t2u-main-bin}"
bin="$(mktemp -d "${TMPDIR:-/tmp}/t2u-cagent-grid.XXXXXX")"
trap 'rm -rf "$bin"' EXIT
ln -s "$T2U_BIN/t2u" "$bin/t2u"
ln -s "$T2U_BIN/t2u-server" "$bin/t2u-server"
ln -s "$AGENT" "$bin/t2usvr"
T2U_BIN="$bin" T2U_GRID_VARIANTS=clash ../Tests/netlab/grid.sh "${@:2}"
