#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the t2u authors
# Loopback benchmark, the C agent beside the Swift t2usvr on the same test: N parallel downloads
# (default 8 x 32 MB) through `t2u forward` on the direct path. Prints, per agent, a `RESULT cagent
# bench ...` line: wall time, throughput, the agent's CPU seconds per GB and its peak RSS.
#   tests/bench.sh [C_AGENT]    env: T2U_BIN, STREAMS (8), MB (32 per stream), T2U_PORT_BASE (47900)
set -euo pipefail
cd "$(dirname "$0")/.."
AGENT="${1:-build/t2usvr-c}"
T2U_BIN="${T2U_BIN:-/tmp/t2u-main-bin}"
STREAMS="${STREAMS:-8}"
MB="${MB:-32}"
BASE="${T2U_PORT_BASE:-47900}"
work="$(mktemp -d "${TMPDIR:-/tmp}/t2u-cagent-bench.XXXXXX")"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT
head -c $((MB * 1024 * 1024)) /dev/urandom >"$work/blob"
"$T2U_BIN/t2u-server" --port "$BASE" --bind 127.0.0.1 --key-file "$work/server.key" >"$work/server.log" 2>&1 &
pids+=($!)
sleep 1
KEY="$("$T2U_BIN/t2u-server" --key-file "$work/server.key" --print-public-key)"
SINK_SERVE="$work/blob" python3 tests/tcp-sink.py $((BASE + 5)) "$work/sink.sha" 300 &
pids+=($!)

run() { # LABEL BINARY
    local label="$1" bin="$2" agent fwd start end peak=0 rss ticks
    "$bin" "BENCH-$label" 127.0.0.1 "$BASE" "$KEY" --no-discovery >"$work/$label.log" 2>&1 &
    agent=$!
    pids+=("$agent")
    for _ in $(seq 1 75); do grep -q "egistered" "$work/$label.log" && break; sleep 0.2; done
    "$T2U_BIN/t2u" forward "BENCH-$label" $((BASE + 5)) --local $((BASE + 6)) --server 127.0.0.1 --port "$BASE" \
        --key "$KEY" --known-devices "$work/known" >"$work/forward-$label.log" 2>&1 &
    fwd=$!
    pids+=("$fwd")
    for _ in $(seq 1 100); do grep -q "^connected" "$work/forward-$label.log" && break; sleep 0.2; done
    local before
    before=$(awk '{print $14 + $15}' "/proc/$agent/stat")
    start=$(date +%s.%N)
    local dl=()
    for i in $(seq 1 "$STREAMS"); do
        timeout 240 python3 -c 'import socket,sys
s=socket.create_connection(("127.0.0.1",int(sys.argv[1])))
with open(sys.argv[2],"wb") as f:
    while d:=s.recv(262144): f.write(d)' $((BASE + 6)) "$work/got-$label-$i" &
        dl+=($!)
    done
    local alive=1
    while [ "$alive" = 1 ]; do
        alive=0
        for p in "${dl[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
        rss=$(awk '/^VmRSS/ {print $2}' "/proc/$agent/status" 2>/dev/null || echo 0)
        [ "$rss" -gt "$peak" ] && peak=$rss
        sleep 0.1
    done
    for p in "${dl[@]}"; do wait "$p" || { echo "bench: $label download failed" >&2; exit 1; }; done
    end=$(date +%s.%N)
    ticks=$(( $(awk '{print $14 + $15}' "/proc/$agent/stat") - before ))
    local want got
    want="$(sha256sum "$work/blob" | cut -d' ' -f1)"
    for i in $(seq 1 "$STREAMS"); do
        got="$(sha256sum "$work/got-$label-$i" | cut -d' ' -f1)"
        [ "$got" = "$want" ] || { echo "bench: $label stream $i SHA-256 differs" >&2; exit 1; }
        rm -f "$work/got-$label-$i"
    done
    kill "$fwd" "$agent"
    wait "$fwd" "$agent" 2>/dev/null || true
    awk -v l="$label" -v s="$STREAMS" -v mb="$MB" -v t0="$start" -v t1="$end" -v ticks="$ticks" -v hz="$(getconf CLK_TCK)" -v rss="$peak" '
        BEGIN { bytes = s * mb * 1048576; t = t1 - t0; cpu = ticks / hz;
                printf "RESULT cagent bench agent=%s streams=%d bytes=%d seconds=%.2f MBps=%.1f cpu_s_per_GB=%.2f peak_rss_kB=%d sha256=ok\n",
                       l, s, bytes, t, bytes / t / 1e6, cpu / (bytes / 1e9), rss }'
}
run c "$AGENT"
if [ -x "$T2U_BIN/t2usvr" ]; then run swift "$T2U_BIN/t2usvr"; fi
