#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the t2u authors
# t2u-server configuration against the built binary, on loopback (issue 14 item 3): --check-config
# exit codes and messages, and SIGHUP: a changed file takes effect in the running server (/status
# and the log level), a broken file is refused and the old configuration keeps serving. Then the
# device agent: SIGHUP to t2usvr re-reads --password-file; a broken file is refused, the agent
# keeps running. Starts only its own t2u-server and t2usvr and stops them by PID on every exit path.
# Usage: T2U_BIN=.build/debug Tests/config/run.sh
set -euo pipefail
BIN="${T2U_BIN:?set T2U_BIN to the directory of the built binaries}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/t2u-config.XXXXXX")"
SERVER=""
DEVICE=""
cleanup() {
    if [ -n "$DEVICE" ]; then kill "$DEVICE" 2>/dev/null || true; wait "$DEVICE" 2>/dev/null || true; fi
    if [ -n "$SERVER" ]; then kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT
fail() {
    echo "FAIL: $*" >&2
    for log in "$WORK"/*.log; do [ -f "$log" ] && sed "s/^/  $(basename "$log" .log): /" "$log" >&2; done
    exit 1
}
pass() { echo "PASS: $*"; }
# Waits (at most 10 s) until the server log (or the log file $2) has a line matching $1.
await_log() {
    local log="${2:-$WORK/server.log}"
    for _ in $(seq 1 100); do grep -q -- "$1" "$log" 2>/dev/null && return 0; sleep 0.1; done
    fail "no line matching '$1' in $(basename "$log") within 10 s"
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

# 6. t2usvr SIGHUP: a new password file is taken, a broken or missing one refused while the agent
# keeps running and registered, and SIGTERM still stops it cleanly.
"$BIN/t2u-server" --bind 127.0.0.1 --port 0 --key-file "$WORK/server.key" --no-relay >"$WORK/server2.log" 2>&1 &
SERVER=$!
await_log "t2u-server listening" "$WORK/server2.log"
PORT="$(grep -o 'main=[^ ]*:[0-9]*' "$WORK/server2.log" | head -1 | sed 's/.*://' || true)"
[ -n "$PORT" ] || fail "no main port in the log"
PUB="$("$BIN/t2u-server" --key-file "$WORK/server.key" --print-public-key)"
printf 'first-password\n' >"$WORK/password"
chmod 600 "$WORK/password"
"$BIN/t2usvr" CFG-RELOAD 127.0.0.1 "$PORT" "$PUB" --password-file "$WORK/password" --no-discovery --tcp-port 0 \
    >"$WORK/device.log" 2>&1 &
DEVICE=$!
await_log "registered with the server" "$WORK/device.log"
printf 'second-password\n' >"$WORK/password"
kill -HUP "$DEVICE"
await_log "reload: " "$WORK/device.log"
line="$(grep -o 'reload: .*' "$WORK/device.log" | head -1)"
[ "$line" = "reload: password changed (new sessions need the new one; open sessions keep going); unchanged: -" ] \
    || fail "t2usvr reload line: $line"
pass "t2usvr SIGHUP: $line"

chmod 644 "$WORK/password"
kill -HUP "$DEVICE"
await_log "password-file refused" "$WORK/device.log"
grep -q "error.*reload: --password-file refused, the running password stays: refusing password file $WORK/password: mode 644 lets other users read it; run \`chmod 600 $WORK/password\`" \
    "$WORK/device.log" || fail "t2usvr refusal of a readable password file"
rm "$WORK/password"
kill -HUP "$DEVICE"
for _ in $(seq 1 100); do [ "$(grep -c 'password-file refused' "$WORK/device.log")" -ge 2 ] && break; sleep 0.1; done
[ "$(grep -c 'password-file refused' "$WORK/device.log")" -ge 2 ] || fail "t2usvr: no refusal of a missing password file"
sleep 0.5
kill -0 "$DEVICE" || fail "t2usvr gone after a refused reload"
! grep -q "device agent stopped" "$WORK/device.log" || fail "t2usvr stopped after a refused reload"
pass "t2usvr SIGHUP with a readable, then a missing password file: refused, the agent keeps running"

kill -TERM "$DEVICE"
rc=0; wait "$DEVICE" || rc=$?
DEVICE=""
[ "$rc" -eq 0 ] || fail "t2usvr exit status $rc after SIGTERM"
grep -q "device agent stopped" "$WORK/device.log" || fail "t2usvr: no 'stopped' line"
pass "t2usvr SIGTERM: stopped, exit 0"
