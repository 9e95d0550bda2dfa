#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the t2u authors
# Path migration with the Swift client (issue 10's liveness) against the C agent: a download
# through `t2u forward` on the direct path; mid-transfer the direct path is cut (nft drops the
# agent's UDP except to and from the server), the client fails over to the relay after ~3 PTOs
# of silence and the device follows it there (new address: PATH_CHALLENGE, at most 3x the bytes
# received until it answers); the cut is lifted, the client probes the direct path and moves
# back, the device follows again; every byte arrives (SHA-256). Root: runs in its own network
# namespace (loopback only), removed on exit.
#   tests/migration.sh [AGENT]    env: T2U_BIN (default /tmp/t2u-main-bin), T2U_LAB (prefix, cb)
set -euo pipefail
cd "$(dirname "$0")/.."
AGENT="$(realpath "${1:-build/t2usvr-c}")"
T2U_BIN="${T2U_BIN:-/tmp/t2u-main-bin}"
NS="${T2U_LAB:-cb}-mig-$$"
SPORT=47000 APORT=47010 TPORT=47020 LPORT=47021
MB=12        # downloaded at ~1.5 MB/s: ~8 s, the cut from 2 to 5 s
work="$(mktemp -d "${TMPDIR:-/tmp}/t2u-cagent-mig.XXXXXX")"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    ip netns del "$NS" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
fail() {
    echo "migration: FAIL: $*" >&2
    for f in "$work"/*.log; do echo "--- $f" >&2; tail -15 "$f" >&2; done
    exit 1
}
wait_for() { # SECONDS COMMAND...
    local limit=$(($1 * 5)); shift
    for _ in $(seq 1 "$limit"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
    return 1
}
[ "$(id -u)" = 0 ] && command -v nft >/dev/null || { echo "migration: needs root and nft: skipped"; exit 0; }
ip netns add "$NS"
ip -n "$NS" link set lo up
in_ns() { ip netns exec "$NS" "$@"; }

head -c $((MB * 1024 * 1024)) /dev/urandom >"$work/blob"
in_ns timeout 120 "$T2U_BIN/t2u-server" --port "$SPORT" --bind 127.0.0.1 --key-file "$work/server.key" >"$work/server.log" 2>&1 &
pids+=($!)
sleep 1
KEY="$("$T2U_BIN/t2u-server" --key-file "$work/server.key" --print-public-key)"
SINK_SERVE="$work/blob" in_ns timeout 120 python3 tests/tcp-sink.py "$TPORT" "$work/sink.sha" 110 &
pids+=($!)
in_ns timeout 120 "$AGENT" CAM-MIG 127.0.0.1 "$SPORT" "$KEY" --udp-port "$APORT" --no-discovery >"$work/agent.log" 2>&1 &
pids+=($!)
wait_for 15 grep -q "registered with" "$work/agent.log" || fail "agent did not register"
in_ns timeout 120 "$T2U_BIN/t2u" forward CAM-MIG "$TPORT" --local "$LPORT" --server 127.0.0.1 --port "$SPORT" --key "$KEY" \
    --known-devices "$work/known" >"$work/forward.log" 2>&1 &
pids+=($!)
wait_for 20 grep -q "^connected | LAN" "$work/forward.log" || fail "t2u forward not connected on the direct path"

# The reader paces the download (TCP backpressure through the stream's flow control). A paced
# upload beside it keeps the client sending ack-eliciting packets: a client that only ACKs
# notices a dead path at its next keepalive (15 s), not after 3 PTOs.
in_ns timeout 60 python3 -c 'import socket,sys,time
s=socket.create_connection(("127.0.0.1",int(sys.argv[1])))
data=open(sys.argv[2],"rb").read(4*1024*1024); t0=time.time()
for i in range(0,len(data),16384):
    s.sendall(data[i:i+16384])
    ahead=(i+16384)/0.5e6-(time.time()-t0)
    if ahead>0: time.sleep(ahead)
s.shutdown(socket.SHUT_WR); s.recv(1)' "$LPORT" "$work/blob" &
writer=$!
pids+=("$writer")
in_ns timeout 60 python3 -c 'import socket,sys,time
s=socket.create_connection(("127.0.0.1",int(sys.argv[1])))
t0=time.time(); n=0
with open(sys.argv[2],"wb") as f:
    while d:=s.recv(65536):
        f.write(d); n+=len(d)
        ahead=n/1.5e6-(time.time()-t0)
        if ahead>0: time.sleep(ahead)' "$LPORT" "$work/got" &
reader=$!
pids+=("$reader")
sleep 2
lines_before=$(wc -l <"$work/forward.log")
in_ns nft -f - <<EOF
table inet cbmig {
    chain input {
        type filter hook input priority 0; policy accept;
        udp dport $APORT udp sport != $SPORT drop
        udp sport $APORT udp dport != $SPORT drop
    }
}
EOF
wait_for 8 sh -c "tail -n +$((lines_before + 1)) '$work/forward.log' | grep -q '^connected | relay'" ||
    fail "the client did not fail over to the relay with the direct path cut"
echo "migration: direct path cut; the client moved to the relay, the transfer goes on"
sleep 2
in_ns nft delete table inet cbmig
# Counts the direct path's datagrams each way from now on (diagnosis when it fails).
in_ns nft -f - <<EOF
table inet cbmigcount {
    chain input {
        type filter hook input priority 0; policy accept;
        udp dport $APORT udp sport != $SPORT counter
        udp sport $APORT udp dport != $SPORT counter
    }
}
EOF
lines_relay=$(wc -l <"$work/forward.log")
if ! wait_for 15 sh -c "tail -n +$((lines_relay + 1)) '$work/forward.log' | grep -q '^connected | LAN'"; then
    # The device can only answer the client's probes: say which side stopped.
    to_device=$(in_ns nft list table inet cbmigcount | sed -n "s/.*dport $APORT .*counter packets \([0-9]*\).*/\1/p")
    in_ns nft list table inet cbmigcount >&2
    grep -v "^connected" "$work/forward.log" | tail -n 4 | sed 's/^/  client: /' >&2
    [ "${to_device:-0}" = 0 ] && fail "the client sent nothing to the direct path after the cut was lifted (it stopped probing)"
    fail "the client probed the direct path but did not move back"
else
    echo "migration: cut lifted; back on the direct path"
fi
wait "$reader" || fail "the download failed"
wait "$writer" || fail "the upload failed"
wait_for 5 test -s "$work/sink.sha" || fail "the upload did not reach the target"
[ "$(cat "$work/sink.sha")" = "$(head -c $((4 * 1024 * 1024)) "$work/blob" | sha256sum | cut -d' ' -f1)" ] ||
    fail "uploaded bytes differ (SHA-256)"
[ "$(sha256sum <"$work/got" | cut -d' ' -f1)" = "$(sha256sum <"$work/blob" | cut -d' ' -f1)" ] ||
    fail "downloaded bytes differ (SHA-256)"
echo "migration: $((MB * 1024 * 1024)) bytes down and 4 MiB up, SHA-256 verified, across direct -> relay -> direct"
echo "migration: PASS"
