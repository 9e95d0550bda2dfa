#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the t2u authors
# t2u-server configuration against the built binary, on loopback (issue 14 item 3): --check-config
# exit codes and messages, and SIGHUP: a changed file takes effect in the running server (/status
# and the log level), a broken file is refused and the old configuration keeps serving.
# Starts only its own t2u-server and stops it by PID on every exit path.
# Usage: T2U_BIN=.build/debug Tests/config/run.sh
set -euo pipefail
BIN="${T2U_BIN:?set T2U_BIN to the directory of the built binaries}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/t2u-config.XXXXXX")"
SERVER=""
cleanup() {
    if [ -n "$SERVER" ]; then kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; [ -f "$WORK/server.log" ] && sed 's/^/  server: /' "$WORK/server.log" >&2; exit 1; }
pass() { echo "PASS: $*"; }
# Waits (at most 10 s) until the server log has a line matching $1.
await_log() {
    for _ in $(seq 1 100); do grep -q -- "$1" "$WORK/server.log" && return 0; sleep 0.1; done
    fail "no log line matching '$1' within 10 s"
}
status_field() {  # status_field PY-EXPR: evaluates it over GET /status as `s`
    python3 -c "
import json, sys, urllib.request
s = json.load(urllib.request.urlopen('http://$ADMIN/status', timeout=5))
print($1)"
}

# 1. --check-config: 0 and "FILE: OK" for a good file; 1 and file:line + fix for a bad one.
printf '# limits\nrelay-rate = 125000000\nlog-level = info\n' >"$WORK/good.conf"
out="$("$BIN/t2u-server" --check-config "$WORK/good.conf" 2>/dev/null)" || fail "--check-config good file exit $?: $out"
[ "$out" = "$WORK/good.conf: OK" ] || fail "--check-config good file: $out"
pass "--check-config good file: exit 0, $out"
printf 'port = 7000\nrelay-rate = fast\n' >"$WORK/bad.conf"
set +e; out="$("$BIN/t2u-server" --check-config "$WORK/bad.conf" 2>&1)"; rc=$?; set -e
[ "$rc" -eq 1 ] || fail "--check-config bad file exit $rc"
[ "$out" = "Error: $WORK/bad.conf:2: invalid relay-rate 'fast'; write a number >= 1 (not NaN or infinite), e.g. relay-rate = 20" ] \
    || fail "--check-config bad file: $out"
pass "--check-config bad file: exit 1, $out"
set +e; out="$(T2U_SERVER_RELAY_RAT=5 "$BIN/t2u-server" --check-config "$WORK/good.conf" 2>&1)"; rc=$?; set -e
[ "$rc" -eq 1 ] && [ "$out" = "Error: environment variable T2U_SERVER_RELAY_RAT is not a server setting; did you mean T2U_SERVER_RELAY_RATE? (or unset it)" ] \
    || fail "--check-config misspelt variable: exit $rc, $out"
pass "--check-config misspelt variable: exit 1, $out"
# Precedence: the variable over the file, the flag over the variable (seen in the check's own run).
set +e; out="$(T2U_SERVER_RELAY_RATE=0.5 "$BIN/t2u-server" --check-config "$WORK/good.conf" 2>&1)"; rc=$?; set -e
[ "$rc" -eq 1 ] && [ "$out" = "Error: invalid environment variable T2U_SERVER_RELAY_RATE '0.5'; write a number >= 1 (not NaN or infinite), e.g. T2U_SERVER_RELAY_RATE=20" ] \
    || fail "--check-config invalid variable: exit $rc, $out"
pass "--check-config invalid variable: exit 1, $out"

# 2. A running server: the file's relay rate in /status.
cp "$WORK/good.conf" "$WORK/server.conf"
"$BIN/t2u-server" --config "$WORK/server.conf" --bind 127.0.0.1 --port 0 --admin 127.0.0.1:0 >"$WORK/server.log" 2>&1 &
SERVER=$!
await_log "t2u-server listening"
ADMIN="$(grep -o 'admin=\[IPv4\]127.0.0.1/127.0.0.1:[0-9]*' "$WORK/server.log" | head -1 | sed 's/.*://')"
[ -n "$ADMIN" ] || fail "no admin address in the log"
ADMIN="127.0.0.1:$ADMIN"
[ "$(status_field "s['limits']['relay_bytes_per_second']")" = "125000000.0" ] || fail "relay rate before reload"
pass "server started, /status relay_bytes_per_second 125000000"

# 3. SIGHUP after changing the file: the change applies, the log says what changed and what not.
printf 'relay-rate = 50000000\nlog-level = debug\nkeepalive = 25\n' >"$WORK/server.conf"
kill -HUP "$SERVER"
await_log "reload: "
line="$(grep -o 'reload: log-level.*' "$WORK/server.log" | head -1)"
[ "$line" = "reload: log-level info -> debug; relay-rate 125000000 -> 50000000; unchanged: admin-token-file, device-ca, relay, signaling-burst, signaling-rate" ] \
    || fail "reload line: $line"
grep -q "warning.*reload: needs a restart, running values kept: keepalive (default) -> 25" "$WORK/server.log" || fail "restart warning"
[ "$(status_field "s['limits']['relay_bytes_per_second']")" = "50000000.0" ] || fail "relay rate after reload"
kill -0 "$SERVER" || fail "server gone after SIGHUP"
pass "SIGHUP: $line; /status relay_bytes_per_second 50000000, still serving"

# 4. A broken file on SIGHUP: refused with file:line, the running configuration stays.
printf 'relay-rate = 50000000\nrelay-rate = 1\n' >"$WORK/server.conf"
kill -HUP "$SERVER"
await_log "reload failed"
grep -q "reload failed, the running configuration stays: $WORK/server.conf:2: relay-rate is already set on line 1; keep one of the two lines" \
    "$WORK/server.log" || fail "reload failure message"
[ "$(status_field "s['limits']['relay_bytes_per_second']")" = "50000000.0" ] || fail "relay rate after a bad reload"
pass "SIGHUP with a broken file: refused, still 50000000 and serving"

# 5. SIGTERM: a graceful stop, exit 0, at the reloaded log level (debug lines of the lifecycle).
kill -TERM "$SERVER"
rc=0; wait "$SERVER" || rc=$?
SERVER=""
[ "$rc" -eq 0 ] || fail "exit status $rc after SIGTERM"
grep -q "t2u-server stopped" "$WORK/server.log" || fail "no 'stopped' line"
grep -q "debug" "$WORK/server.log" || fail "no debug line after log-level = debug"
pass "SIGTERM: stopped, exit 0; debug lines after the reload: $(grep -c debug "$WORK/server.log")"
