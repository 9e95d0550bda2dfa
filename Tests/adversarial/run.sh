#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the t2u authors
# Attacks of issue 9 against the real binaries on loopback (docs/SECURITY.md). Each step prints
# one line `ATTACK name: refused (...)` or fails the script:
#   hijack       a second t2usvr registers a live device's UUID with its own key: refused
#                (identityConflict); a client still reaches the real device and pins its key
#   persistence  the server restarts (same key file and bindings file) while the real device is
#                down: the impostor is still refused
#   pin          the client pinned the real key; a server that vouched another key would get -6:
#                checked by pointing the client at an impostor's binding on a fresh server
#   svrkey       a wrong or malformed server key: the agent stops / the client reports key rejected
#   keyfile      a world-readable key file or a symlinked one: the server refuses to start
#   config       CRLF config works; unknown key, port 99999 and the v1 `key` are refused, named
# Usage: T2U_BIN=.build/release Tests/adversarial/run.sh   (loopback only; bounded; cleans up)
set -euo pipefail
cd "$(dirname "$0")/../.."
bin="${T2U_BIN:-.build/release}"
work="$(mktemp -d "${TMPDIR:-/tmp}/t2u-adv.XXXXXX")"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT
export T2U_KNOWN_DEVICES="$work/known_devices"

fail() { echo "ATTACK $1: NOT REFUSED: $2" >&2; for f in "$work"/*.log; do echo "--- $f" >&2; tail -n 20 "$f" >&2; done; exit 1; }
wait_log() {  # wait_log FILE PATTERN [tenths]
    for _ in $(seq 1 "${3:-100}"); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
    return 1
}
start() { local name="$1"; shift; "$@" >>"$work/$name.log" 2>&1 & pids+=("$!"); }
stop_pid() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

uuid="adv-cam-$$"
server_key="$work/server.key"
bindings="$work/bindings"
pub="$("$bin/t2u-server" --key-file "$server_key" --print-public-key)"
[ "${#pub}" -eq 64 ] || fail setup "no public key printed: $pub"

start_server() {
    start server "$bin/t2u-server" --bind 127.0.0.1 --port "${1:-0}" --key-file "$server_key" --bindings-file "$bindings"
    server_pid="${pids[-1]}"
    wait_log "$work/server.log" "t2u-server listening" || fail setup "server did not start"
    port="$(grep -o 'main=[^ ]*:[0-9]*' "$work/server.log" | tail -n1 | sed 's/.*://')"
}
start_server

start echo "$bin/t2u" check --echo --echo-port 0
wait_log "$work/echo.log" "echo listening" || fail setup "echo service did not start"
echo_port="$(sed -n 's/^echo listening //p' "$work/echo.log" | head -n1)"

start device "$bin/t2usvr" "$uuid" 127.0.0.1 "$port" "$pub" --state "$work/device.key" --no-discovery
device_pid="${pids[-1]}"
wait_log "$work/device.log" "registered with the server" || fail setup "the real device did not register"
real_key="$("$bin/t2usvr" "$uuid" 127.0.0.1 "$port" "$pub" --state "$work/device.key" --print-public-key)"

# --- hijack ---
start impostor "$bin/t2usvr" "$uuid" 127.0.0.1 "$port" "$pub" --state "$work/impostor.key" --no-discovery
impostor_pid="${pids[-1]}"
wait_log "$work/impostor.log" "bound to another device key" 100 || fail hijack "the impostor was not told identityConflict"
grep -q "registered with the server" "$work/impostor.log" && fail hijack "the impostor registered"
timeout 60 "$bin/t2u" check "$uuid" "$echo_port" --server 127.0.0.1 --port "$port" --key "$pub" --bytes 1M --timeout 40 \
    >"$work/check.log" 2>&1 || fail hijack "the client did not reach the real device"
grep -q "^CHECK ok=1" "$work/check.log" || fail hijack "no verified CHECK line"
grep -q "^$uuid $real_key" "$T2U_KNOWN_DEVICES" || fail hijack "the client did not pin the real device's key"
echo "ATTACK hijack: refused (impostor got identityConflict; client verified 1 MB through the real device, pinned ${real_key:0:16}...)"

# --- persistence: restart the server with the real device down; the binding holds ---
stop_pid "$impostor_pid"; stop_pid "$device_pid"; stop_pid "$server_pid"
: >"$work/impostor.log"
start_server "$port"
start impostor "$bin/t2usvr" "$uuid" 127.0.0.1 "$port" "$pub" --state "$work/impostor.key" --no-discovery
impostor_pid="${pids[-1]}"
wait_log "$work/impostor.log" "bound to another device key" 100 || fail persistence "the binding did not survive the restart"
grep -q "registered with the server" "$work/impostor.log" && fail persistence "the impostor registered after the restart"
echo "ATTACK persistence: refused (bindings file kept ${uuid} -> ${real_key:0:16}... across a server restart)"
stop_pid "$impostor_pid"

# --- pin: a fresh server (another bindings file) lets the impostor hold the UUID; the client refuses ---
stop_pid "$server_pid"
bindings="$work/bindings-other"
start_server "$port"
: >"$work/impostor.log"
start impostor "$bin/t2usvr" "$uuid" 127.0.0.1 "$port" "$pub" --state "$work/impostor.key" --no-discovery
impostor_pid="${pids[-1]}"
wait_log "$work/impostor.log" "registered with the server" || fail pin "setup: the impostor did not register on the fresh server"
status=0
timeout 60 "$bin/t2u" check "$uuid" "$echo_port" --server 127.0.0.1 --port "$port" --key "$pub" --bytes 65536 --timeout 20 \
    >"$work/check-pin.log" 2>&1 || status=$?
[ "$status" -ne 0 ] || fail pin "the client connected to a device with another key"
grep -qi "device key changed" "$work/check-pin.log" || fail pin "the client did not say the device key changed"
echo "ATTACK pin: refused (client: device key changed, exit $status)"
stop_pid "$impostor_pid"

# --- svrkey: another server key, and a malformed one ---
status=0
timeout 30 "$bin/t2u" status --server 127.0.0.1 --port "$port" --key "$(echo "$pub" | tr '0-9a-f' '1-9a-f0')" >"$work/status.log" 2>&1 || status=$?
grep -qi "rejected" "$work/status.log" || fail svrkey "a client with another server key was not refused: $(cat "$work/status.log")"
status=0
timeout 10 "$bin/t2usvr" "$uuid" 127.0.0.1 "$port" "not-a-key" --state "$work/device.key" >"$work/badkey.log" 2>&1 || status=$?
[ "$status" -ne 0 ] && grep -q "64 hex" "$work/badkey.log" || fail svrkey "a malformed svrkey did not stop t2usvr"
echo "ATTACK svrkey: refused (another server key: $(tr -d '\n' <"$work/status.log" | cut -c1-60); malformed: t2usvr exits $status)"

# --- keyfile ---
cp "$server_key" "$work/loose.key"; chmod 644 "$work/loose.key"
"$bin/t2u-server" --key-file "$work/loose.key" --print-public-key >"$work/loose.log" 2>&1 && fail keyfile "a 0644 key file was used"
grep -q "chmod 600" "$work/loose.log" || fail keyfile "the refusal does not say what to do"
ln -s "$server_key" "$work/link.key"
"$bin/t2u-server" --key-file "$work/link.key" --print-public-key >"$work/link.log" 2>&1 && fail keyfile "a symlinked key file was used"
echo "ATTACK keyfile: refused (0644 and symlink)"

# --- config ---
printf 'port = 7999\r\nkey-file = %s\r\nrelay = false\r\n' "$server_key" >"$work/crlf.conf"
"$bin/t2u-server" --check-config "$work/crlf.conf" >/dev/null 2>&1 || fail config "a CRLF config was refused"
for bad in "relay_rate = 1" "port = 99999" "key = secret"; do
    printf '%s\n' "$bad" >"$work/bad.conf"
    if "$bin/t2u-server" --check-config "$work/bad.conf" >"$work/bad.log" 2>&1; then fail config "'$bad' was accepted"; fi
    grep -q "bad.conf:1" "$work/bad.log" || fail config "'$bad': the error does not name file and line: $(cat "$work/bad.log")"
done
echo "ATTACK config: refused (relay_rate, port 99999 and the v1 key, each named with file:line; CRLF accepted)"
echo "adversarial: 6 passed, 0 failed"
