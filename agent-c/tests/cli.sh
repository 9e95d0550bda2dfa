#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the t2u authors
# The command line against t2usvr's: every option of Sources/t2usvr/T2USvr.swift parses, the ones
# this agent cannot honour are refused with a message naming the missing feature, and
# --log-format json writes one JSON object per line. No network beyond loopback (the agent run is
# pointed at 127.0.0.1 and stopped by PID).
#   tests/cli.sh [AGENT]     AGENT default build/t2usvr-c; TEST_RUNNER e.g. "qemu-arm -L ..."
set -euo pipefail
cd "$(dirname "$0")/.."
AGENT="${1:-build/t2usvr-c}"
RUNNER="${TEST_RUNNER:-}"
work="$(mktemp -d "${TMPDIR:-/tmp}/t2u-cagent-cli.XXXXXX")"
agent_pid=""
cleanup() {
    if [ -n "$agent_pid" ]; then kill "$agent_pid" 2>/dev/null || true; wait "$agent_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT
checks=0
fail() { echo "cli: FAIL: $*" >&2; [ -f "$work/out" ] && cat "$work/out" >&2; exit 1; }
run() { # EXPECTED_STATUS ARGS...: runs the agent, output in $work/out
    local want="$1" rc=0; shift
    # shellcheck disable=SC2086
    $RUNNER "$AGENT" "$@" >"$work/out" 2>&1 || rc=$?
    [ "$rc" -eq "$want" ] || fail "'$*' exited $rc, expected $want"
    checks=$((checks + 1))
}

run 0 --help
for opt in --tcp-port --no-port-mapping --log-format --udp-port --birthday-sockets --discovery-port --cert \
    --rotate-key --print-public-key --password-file --allow --extra --state --no-discovery --log-level --version; do
    grep -q -- "$opt" "$work/out" || fail "--help does not name $opt"
done
run 0 --version
grep -Eq '^[0-9]+\.[0-9]+\.[0-9]+' "$work/out" || fail "--version printed no version"

# Every option of t2usvr at once, in both spellings; --print-public-key ends the run after parsing.
run 0 CAM-CLI 127.0.0.1 7000 --state "$work/key" --print-public-key --tcp-port 0 --no-port-mapping \
    --log-format json --log-level debug --udp-port 0 --no-discovery --discovery-port 7011 --birthday-sockets 0 \
    --extra model=X1 --allow 198.51.100.20:554 --allow '203.0.113.0/24:80,443' --password-file "$work/none"
grep -Eq '^[0-9a-f]{64}$' "$work/out" || fail "--print-public-key printed no key"
run 0 CAM-CLI 127.0.0.1 7000 --state="$work/key" --print-public-key --tcp-port=0 --log-format=text --rotate-key

# --tcp-port: 0...65535 (0: no TCP fallback), as t2usvr's UInt16.
run 0 CAM-CLI 127.0.0.1 7000 --state "$work/key" --print-public-key --tcp-port 443
run 0 CAM-CLI 127.0.0.1 7000 --state "$work/key" --print-public-key --tcp-port=65535
for bad in x -1 65536 ""; do
    run 1 CAM-CLI 127.0.0.1 7000 --tcp-port "$bad"
    grep -q "invalid --tcp-port" "$work/out" || fail "--tcp-port '$bad' not explained"
done
# What this agent does not have is refused, saying what is missing and where it is.
run 1 CAM-CLI 127.0.0.1 7000 --log-format xml
grep -q "use text or json" "$work/out" || fail "--log-format xml not explained"
run 1 CAM-CLI 127.0.0.1 7000 --birthday-sockets 513
run 1 CAM-CLI 127.0.0.1 7000 --no-such-option 1
run 1 CAM-CLI 127.0.0.1 7000 --print-public-key

# --log-format json: the running agent's lines are JSON objects with time, level, label, message.
# (Pointed at the discard port on loopback; stopped by PID once it logged its start.)
# shellcheck disable=SC2086
$RUNNER "$AGENT" CAM-CLI 127.0.0.1 9 --no-discovery --log-format json --password 'p"w' >"$work/out" 2>&1 &
agent_pid=$!
for _ in $(seq 1 50); do grep -q "device agent started" "$work/out" && break; sleep 0.2; done
kill "$agent_pid"; wait "$agent_pid" 2>/dev/null || true; agent_pid=""
grep -q "device agent started" "$work/out" || fail "the agent did not start"
grep -q '"level":"warning"' "$work/out" || fail "no warning line for --password"
while IFS= read -r line; do
    case "$line" in
        '{"time":"'*'","level":"'*'","label":"t2usvr","source":"agent-c","message":"'*'"}') ;;
        *) fail "not a JSON log line: $line" ;;
    esac
done <"$work/out"
if command -v python3 >/dev/null 2>&1; then
    python3 -c 'import json,sys
for line in open(sys.argv[1]):
    o = json.loads(line); assert set(o) == {"time", "level", "label", "source", "message"}, o' "$work/out" ||
        fail "a --log-format json line does not parse as JSON"
fi
checks=$((checks + 1))
echo "cli: $checks checks, 0 failures"
