#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the t2u authors
# The messages of issue 14 (item 5) as users meet them, against built binaries on loopback: each
# says what happened and what to do, once, without the usage text. Starts only its own processes
# (a UDP blocker and a TCP blocker in python3, and t2u forward/check bounded by timeout) and stops
# them on every exit path.
# Usage: T2U_BIN=.build/release Tests/messages/run.sh
set -euo pipefail
BIN="${T2U_BIN:?set T2U_BIN to the directory of the built binaries}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/t2u-messages.XXXXXX")"
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT
export T2U_KNOWN_DEVICES="$WORK/known_devices"
fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "PASS: $*"; }
# A UDP port nobody answers on: bound by a silent python socket for the whole run.
hold() {  # hold udp|tcp FILE: binds a loopback port, writes it to FILE, sleeps
    python3 -c "
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM if sys.argv[1] == 'udp' else socket.SOCK_STREAM)
s.bind(('127.0.0.1', 0))
if sys.argv[1] == 'tcp': s.listen()
open(sys.argv[2] + '.tmp', 'w').write(str(s.getsockname()[1]))
import os; os.rename(sys.argv[2] + '.tmp', sys.argv[2])
time.sleep(120)" "$1" "$2" &
    PIDS+=($!)
    for _ in $(seq 1 100); do [ -s "$2" ] && return 0; sleep 0.1; done
    fail "python3 could not bind a $1 port"
}
hold udp "$WORK/udp"; SILENT="$(cat "$WORK/udp")"
hold tcp "$WORK/tcp"; TCPBUSY="$(cat "$WORK/tcp")"
NO_ANSWER="no answer from server 127.0.0.1:$SILENT ("
ADVICE="): check the address/port and that UDP is allowed"

# 1. A wrong server port: "no answer from server H:P (N tries in S s): check ..." (not "connecting").
out="$("$BIN/t2u" status --server 127.0.0.1 --port "$SILENT" --wait 2)" && fail "status exit 0" || [ $? -eq 1 ] || fail "status exit status"
case "$out" in "$NO_ANSWER"*" tries in "*"$ADVICE") pass "t2u status, silent server: $out" ;; *) fail "t2u status: $out" ;; esac
# 2. HOST:PORT in --server: the port once, used as given.
out="$("$BIN/t2u" status --server "127.0.0.1:$SILENT" --wait 2 --json)" || true
python3 -c "
import json, sys
o = json.loads(sys.argv[1])
assert o['server'] == '127.0.0.1:$SILENT' and o['status'] == 'no answer' and o['tries'] >= 2 and o['seconds'] > 0, o
assert o['message'].startswith('$NO_ANSWER'), o" "$out" || fail "t2u status --json: $out"
pass "t2u status --server H:P --json: $out"
out="$("$BIN/t2u" query --server 127.0.0.1 --port "$SILENT" --wait 2 CAM-1)" && fail "query exit 0" || [ $? -eq 2 ] || fail "query exit status"
case "$out" in "CAM-1: query failed: $NO_ANSWER"*) pass "t2u query, silent server: $out" ;; *) fail "t2u query: $out" ;; esac
out="$("$BIN/t2u" query --server 127.0.0.1 --port "$SILENT" --wait 2 --json CAM-1 CAM-2)" || true
python3 -c "
import json, sys
rows = json.loads(sys.argv[1])
assert [r['uuid'] for r in rows] == ['CAM-1', 'CAM-2'] and all(r['status'] == 'failed' for r in rows), rows" "$out" || fail "t2u query --json: $out"
pass "t2u query --json: one row per device"
# 3. t2usvr tells within seconds that its server does not answer (it said nothing for 15 s).
timeout 6 "$BIN/t2usvr" DEV-MSG 127.0.0.1 "$SILENT" >"$WORK/agent.log" 2>&1 || true
grep "warning" "$WORK/agent.log" | grep -F "${NO_ANSWER}3 tries in " | grep -cF "$ADVICE" >/dev/null || { cat "$WORK/agent.log" >&2; fail "t2usvr silent server"; }
pass "t2usvr, silent server: $(grep -o "no answer.*" "$WORK/agent.log" | head -1)"
# 4. The server's port in use: the port and the option, no errno text.
out="$("$BIN/t2u-server" --bind 127.0.0.1 --port "$SILENT" 2>&1)" && fail "server started on a used port" || true
echo "$out" | grep -qx "Error: UDP port $SILENT on 127.0.0.1 is in use by another process: stop that process or choose another --port (0 picks a free port)" \
    || fail "t2u-server, port in use: $out"
pass "t2u-server, UDP port in use: $(echo "$out" | grep Error)"
out="$("$BIN/t2u-server" --bind 127.0.0.1 --port 0 --admin "127.0.0.1:$TCPBUSY" 2>&1)" && fail "server started on a used admin port" || true
echo "$out" | grep -qx "Error: TCP port $TCPBUSY on 127.0.0.1 is in use by another process: stop that process or choose another --admin (0 picks a free port)" \
    || fail "t2u-server, admin port in use: $out"
pass "t2u-server, admin port in use"
# 5. A config error: file:line and the fix, nothing else.
printf 'port = 7000\nrelay_rate = 5\n' >"$WORK/bad.conf"
out="$("$BIN/t2u-server" --check-config "$WORK/bad.conf" 2>&1)" && fail "bad config accepted" || true
[ "$out" = "Error: $WORK/bad.conf:2: unknown key 'relay_rate'; did you mean relay-rate?" ] || fail "config error: $out"
pass "t2u-server config error: $out"
# 6. An unusable --state: one line, no usage text.
out="$("$BIN/t2usvr" --state "$WORK/missing/dir/key" DEV 127.0.0.1 "$SILENT" 2>&1)" && fail "t2usvr started" || true
[ "$(echo "$out" | wc -l)" -eq 1 ] && ! echo "$out" | grep -q "Usage:" || fail "t2usvr --state: $out"
case "$out" in "Error: cannot create state file $WORK/missing/dir/key: "*"; check that the directory exists and is writable by this user") ;; *) fail "t2usvr --state: $out" ;; esac
pass "t2usvr unusable --state: $out"
# 7. `t2u query --help` names no option t2usvr lacks.
# Each help text is read whole first: `producer | grep -q` under pipefail fails whenever grep
# exits before the producer's last write (SIGPIPE), which made this check flaky.
query_help="$("$BIN/t2u" query --help)"
agent_help="$("$BIN/t2usvr" --help)"
grep -q "t2usvr --uuid" <<<"$query_help" && fail "t2u query --help names t2usvr --uuid"
for option in $(grep -o "t2usvr --[a-z-]*" <<<"$query_help" | sed 's/t2usvr //'); do
    grep -q -- "$option" <<<"$agent_help" || fail "t2u query --help names t2usvr $option"
done
pass "t2u query --help names only real t2usvr options"
# 8. --json on search (no devices on this loopback group: an empty array).
out="$("$BIN/t2u" search --timeout 0.5 --address 127.0.0.1 --discovery-port "$SILENT" --json)"
[ "$out" = "[]" ] || fail "t2u search --json: $out"
pass "t2u search --json: $out"
# 9. t2u forward to a silent server: the status line names the silence (not "P2P failed"), and
# SIGTERM (after 5 s, by timeout; SIGKILL 5 s later if it hangs) closes the local port cleanly.
status=0
out="$(timeout -k 5 5 "$BIN/t2u" forward DEV-FWD 80 --server 127.0.0.1 --port "$SILENT" --tcp-port 0 2>"$WORK/forward.err")" || status=$?
[ "$status" -eq 124 ] || { cat "$WORK/forward.err" >&2; fail "t2u forward ended by itself (exit $status) before SIGTERM: $out"; }
echo "$out" | grep -q "^forwarding 127\.0\.0\.1:[0-9]* -> DEV-FWD 127\.0\.0\.1:80 via 127\.0\.0\.1:$SILENT " || fail "t2u forward, no forwarding line: $out"
line="$(echo "$out" | grep -F "$NO_ANSWER" | grep -F "$ADVICE" | tail -n1)" || true
[ -n "$line" ] || fail "t2u forward, silent server not named: $out"
echo "$out" | grep -q "P2P failed" && fail "t2u forward blames P2P for a silent server: $out"
echo "$out" | tail -n1 | grep -q "^closed 127\.0\.0\.1:[0-9]*$" || fail "t2u forward did not close its port on SIGTERM: $out"
pass "t2u forward, silent server: $line"
# 10. t2u check --json against the silent server: one JSON object of the documented fields,
# ok false, the silence as the error; exit 1.
status=0
out="$(timeout -k 5 20 "$BIN/t2u" check DEV-CHK 7 --server 127.0.0.1 --port "$SILENT" --tcp-port 0 --timeout 3 --json 2>"$WORK/check.err")" || status=$?
[ "$status" -eq 1 ] || { cat "$WORK/check.err" >&2; fail "t2u check --json, silent server: exit $status (want 1): $out"; }
python3 -c "
import json, sys
o = json.loads(sys.argv[1])
keys = {'ok', 'path', 'peer', 'ttfb_ms', 'final_path_ms', 'connect_ms', 'bytes', 'mbps', 'breaks', 'statuses', 'paths', 'error'}
assert set(o) <= keys | {'relay_reason'} and keys <= set(o), sorted(o)
assert o['ok'] is False and o['path'] == 'none' and o['peer'] is None and o['ttfb_ms'] is None and o['bytes'] == 0, o
assert isinstance(o['breaks'], int) and isinstance(o['mbps'], (int, float)), o
assert all(set(s) == {'value', 'ms'} and isinstance(s['value'], int) and isinstance(s['ms'], int) for s in o['statuses']), o
assert all(set(p) == {'value', 'ms'} for p in o['paths']), o
assert o['error'].startswith('$NO_ANSWER') and o['error'].endswith('$ADVICE'), o" "$out" || fail "t2u check --json: $out"
grep -qF "check failed: $NO_ANSWER" "$WORK/check.err" || { cat "$WORK/check.err" >&2; fail "t2u check, silent server: stderr does not name the silence"; }
pass "t2u check --json, silent server: $out"
echo "Tests/messages: all checks passed"
