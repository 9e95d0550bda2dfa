#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the t2u authors
# Interop on loopback: the Swift t2u-server, `t2u query` and `t2u forward` against the C agent
# (registration, identity, failover, library form, transport handshake v2 with the password).
#   tests/interop.sh [AGENT]        AGENT default build/t2usvr-c
# Env: T2U_BIN (Swift t2u-server and t2u; default /tmp/t2u-main-bin), AGENT_RUNNER (e.g.
# "qemu-arm -L /usr/arm-linux-gnueabihf"), T2U_PORT_BASE (default 47300). Every process it starts
# is stopped by PID on exit; every wait is bounded.
set -euo pipefail
cd "$(dirname "$0")/.."
AGENT="${1:-build/t2usvr-c}"
T2U_BIN="${T2U_BIN:-/tmp/t2u-main-bin}"
RUNNER="${AGENT_RUNNER:-}"
BASE="${T2U_PORT_BASE:-47300}"
PORT=$((BASE))
ADMIN=$((BASE + 90))
DEAD=$((BASE + 50))
work="$(mktemp -d "${TMPDIR:-/tmp}/t2u-cagent.XXXXXX")"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT
fail() {
    echo "interop: FAIL: $*" >&2
    for f in "$work"/*.log; do echo "--- $f" >&2; tail -20 "$f" >&2; done
    exit 1
}
# wait_for SECONDS COMMAND...: polls every 0.2 s.
wait_for() {
    local limit=$(($1 * 5)); shift
    for _ in $(seq 1 "$limit"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
    return 1
}
start_agent() { # NAME ARGS... (the environment passes through, e.g. T2U_AGENT_RELAY_ONLY)
    local name="$1"; shift
    # shellcheck disable=SC2086
    $RUNNER "$AGENT" "$@" >"$work/$name.log" 2>&1 &
    pids+=($!)
    eval "${name}_pid=$!"
}
# Stops an agent by PID; it must exit 0 (clean shutdown; under ASan: no leak, no error).
stop_pid() {
    kill "$1" 2>/dev/null || true
    local rc=0
    wait "$1" 2>/dev/null || rc=$?
    [ "$rc" -eq 0 ] || fail "agent $1 exited with status $rc after SIGTERM"
}
online() { "$T2U_BIN/t2u" query "$1" --server 127.0.0.1 --port "$PORT" --key "$KEY" --known-devices "$work/known"; }
devices_online() { curl -sf "127.0.0.1:$ADMIN/status" | grep -q "\"devices_online\":$1,"; }

"$T2U_BIN/t2u-server" --port "$PORT" --bind 127.0.0.1 --key-file "$work/server.key" --admin "127.0.0.1:$ADMIN" \
    >"$work/server.log" 2>&1 &
pids+=($!)
wait_for 10 curl -sf "127.0.0.1:$ADMIN/status" || fail "t2u-server did not start"
KEY="$("$T2U_BIN/t2u-server" --key-file "$work/server.key" --print-public-key)"
(umask 077 && printf 'right\n' >"$work/password")

# 1. Registers (pinned key), online for t2u query and /status; the agent's key is the state file's.
start_agent a1 CAM-C1 127.0.0.1 "$PORT" "$KEY" --state "$work/dev.key" --no-discovery
wait_for 15 online CAM-C1 || fail "C agent not online"
devices_online 1 || fail "/status does not show one device"
pub="$($RUNNER "$AGENT" CAM-C1 x 1 --state "$work/dev.key" --print-public-key)"
grep -q "publicKey $pub" "$work/a1.log" || fail "--print-public-key differs from the running key"
echo "interop: registered, online (device key $pub)"

# 2. Another key for the same UUID is refused (identityConflict), and says so.
start_agent a2 CAM-C1 127.0.0.1 "$PORT" "$KEY" --state "$work/other.key" --no-discovery
wait_for 10 grep -q "error 8" "$work/a2.log" || fail "another key for CAM-C1 was not refused"
stop_pid "$a2_pid"
echo "interop: another key refused (identityConflict)"

# 3. Restart with the same key file: accepted again.
stop_pid "$a1_pid"
start_agent a3 CAM-C1 127.0.0.1 "$PORT" "$KEY" --state "$work/dev.key" --no-discovery
wait_for 15 grep -q "registered with" "$work/a3.log" || fail "restart with the same key not registered"
wait_for 5 online CAM-C1 || fail "restarted agent not online"
grep -q "refused" "$work/a3.log" && fail "restart with the same key was refused"
echo "interop: restart with the same key accepted"
stop_pid "$a3_pid"

# 4. A wrong svrkey: refused (key rejected), never registered.
start_agent a4 CAM-C4 127.0.0.1 "$PORT" "$(printf '11%.0s' $(seq 32))" --no-discovery
wait_for 10 grep -q "is not the svrkey" "$work/a4.log" || fail "a wrong svrkey was not rejected"
grep -q "registered with" "$work/a4.log" && fail "registered under a wrong svrkey"
stop_pid "$a4_pid"
echo "interop: wrong svrkey rejected"

# 5. Failover: the first server of the list never answers; the agent moves to the second.
start_agent a5 CAM-C5 "127.0.0.1:$DEAD,127.0.0.1:$PORT" 7000 "$KEY" --no-discovery
wait_for 20 online CAM-C5 || fail "no failover to the second server"
stop_pid "$a5_pid"
echo "interop: failover to the second server of the list"

# 5b. IPv6: a server on ::1 only. The agent's dual-stack socket registers with it over IPv6 (its
#     NAT probe to the observation port too) and a client asking over IPv6 sees it online.
V6PORT=$((BASE + 60))
"$T2U_BIN/t2u-server" --port "$V6PORT" --bind ::1 --key-file "$work/server.key" >"$work/server6.log" 2>&1 &
pids+=($!)
start_agent a5b CAM-C5B "[::1]:$V6PORT" 7000 "$KEY" --no-discovery --log-level debug
wait_for 15 grep -q "registered with \[::1\]:$V6PORT" "$work/a5b.log" || fail "no registration with the IPv6 server"
wait_for 15 "$T2U_BIN/t2u" query CAM-C5B --server ::1 --port "$V6PORT" --key "$KEY" --known-devices "$work/known" ||
    fail "the agent registered over IPv6 is not online for a client over IPv6"
wait_for 15 grep -q "NAT behaviour" "$work/a5b.log" || fail "no NAT classification over IPv6"
stop_pid "$a5b_pid"
echo "interop: IPv6 server [::1]: registered, online, NAT probed"

# 6. Unpinned: registers and warns how to pin.
start_agent a6 CAM-C6 127.0.0.1 "$PORT" --no-discovery
wait_for 15 online CAM-C6 || fail "unpinned agent not online"
grep -q "not authenticated" "$work/a6.log" || fail "no warning for an unpinned server"
stop_pid "$a6_pid"
echo "interop: unpinned agent registered with a warning"
# 7. Library form: examples/embed.c (built next to AGENT) registers through t2u_agent.h.
embed="$(dirname "$AGENT")/embed"
# shellcheck disable=SC2086
timeout 30 $RUNNER "$embed" CAM-E7 127.0.0.1 "$PORT" "$KEY" >"$work/embed.log" 2>&1 || fail "the embedded agent did not register"
grep -q "embedded agent registered" "$work/embed.log" || fail "embed printed no success"
echo "interop: library form (t2u_agent_start/stop, status callback) registered"
# 8. Transport handshake v2 (mac1, IKpsk2, password proof): a wrong password is refused
#    (`t2u forward` exits 1: "device password rejected", the C ABI's -5); the right one connects.
start_agent a8 CAM-C8 127.0.0.1 "$PORT" "$KEY" --password-file "$work/password" --no-discovery
wait_for 15 online CAM-C8 || fail "password agent not online"
rc=0
timeout 30 "$T2U_BIN/t2u" forward CAM-C8 80 --password wrong --server 127.0.0.1 --port "$PORT" --key "$KEY" \
    --known-devices "$work/known" >"$work/forward-wrong.log" 2>&1 || rc=$?
[ "$rc" -eq 1 ] && grep -q "device password rejected" "$work/forward-wrong.log" || fail "wrong password not rejected (exit $rc)"
"$T2U_BIN/t2u" forward CAM-C8 80 --password right --server 127.0.0.1 --port "$PORT" --key "$KEY" \
    --known-devices "$work/known" >"$work/forward-right.log" 2>&1 &
fwd=$!
pids+=("$fwd")
wait_for 20 grep -q "^connected" "$work/forward-right.log" || fail "the right password did not connect"
kill "$fwd" 2>/dev/null || true
wait "$fwd" 2>/dev/null || true
grep -q "connection [0-9a-f]* from" "$work/a8.log" || fail "the agent did not log the accepted connection"
stop_pid "$a8_pid"
echo "interop: handshake v2: wrong password rejected (exit 1), right password connected"
# 9. Data both ways through t2u forward, on the direct (LAN) path and through the relay: a
#    download (device -> client) and an upload (client -> device), each checked by SHA-256.
SINK=$((BASE + 80))
head -c "${CAGENT_BYTES:-8000000}" /dev/urandom >"$work/blob"
want="$(sha256sum "$work/blob" | cut -d' ' -f1)"
SINK_SERVE="$work/blob" python3 tests/tcp-sink.py "$SINK" "$work/sink.sha" 120 &
pids+=($!)
transfer() { # NAME LOCAL_PORT: download and upload through 127.0.0.1:LOCAL_PORT
    local name="$1" local_port="$2" got
    wait_for 20 grep -q "^connected" "$work/forward-$name.log" || fail "$name: t2u forward did not connect"
    timeout 60 python3 -c 'import socket,sys
s=socket.create_connection(("127.0.0.1",int(sys.argv[1])))
with open(sys.argv[2],"wb") as f:
    while d:=s.recv(65536): f.write(d)' "$local_port" "$work/got-$name" || fail "$name: download failed"
    got="$(sha256sum "$work/got-$name" | cut -d' ' -f1)"
    [ "$got" = "$want" ] || fail "$name: download SHA-256 differs ($(stat -c %s "$work/got-$name") bytes)"
    : >"$work/sink.sha"
    timeout 60 python3 -c 'import socket,sys
s=socket.create_connection(("127.0.0.1",int(sys.argv[1])))
s.sendall(b"u"+open(sys.argv[2],"rb").read()); s.shutdown(socket.SHUT_WR)
while s.recv(65536): pass' "$local_port" "$work/blob" || fail "$name: upload failed"
    wait_for 20 test -s "$work/sink.sha" || fail "$name: the upload did not reach the target"
    want_up="$( (printf u; cat "$work/blob") | sha256sum | cut -d' ' -f1)"
    grep -q "$want_up" "$work/sink.sha" || fail "$name: upload SHA-256 differs"
    grep -q "^connected | $3" "$work/forward-$name.log" || fail "$name: not on the $3 path"
    echo "interop: $name path: $(stat -c %s "$work/blob") bytes down and up, SHA-256 verified"
}
start_agent a9 CAM-C9 127.0.0.1 "$PORT" "$KEY" --no-discovery
wait_for 15 online CAM-C9 || fail "agent a9 not online"
"$T2U_BIN/t2u" forward CAM-C9 "$SINK" --local $((BASE + 81)) --server 127.0.0.1 --port "$PORT" --key "$KEY" \
    --known-devices "$work/known" >"$work/forward-direct.log" 2>&1 &
fwd=$!
pids+=("$fwd")
transfer direct $((BASE + 81)) LAN
kill "$fwd"; wait "$fwd" 2>/dev/null || true
stop_pid "$a9_pid"
# The relay: T2U_AGENT_RELAY_ONLY=1 makes the agent drop transport packets not from the server.
T2U_AGENT_RELAY_ONLY=1 start_agent a10 CAM-C10 127.0.0.1 "$PORT" "$KEY" --no-discovery
wait_for 15 online CAM-C10 || fail "agent a10 not online"
"$T2U_BIN/t2u" forward CAM-C10 "$SINK" --local $((BASE + 82)) --server 127.0.0.1 --port "$PORT" --key "$KEY" \
    --known-devices "$work/known" >"$work/forward-relay.log" 2>&1 &
fwd=$!
pids+=("$fwd")
transfer relay $((BASE + 82)) relay
kill "$fwd"; wait "$fwd" 2>/dev/null || true
stop_pid "$a10_pid"
# 10. LAN discovery: `t2u search` (unicast to loopback, our subnet) finds the agent; an unpadded
#     SEARCH gets nothing.
DISC=$((BASE + 83))
start_agent a11 CAM-C11 127.0.0.1 "$PORT" "$KEY" --discovery-port "$DISC"
wait_for 15 online CAM-C11 || fail "agent a11 not online"
"$T2U_BIN/t2u" search --address 127.0.0.1 --discovery-port "$DISC" --timeout 2 --server 127.0.0.1 --port "$PORT" \
    >"$work/search.log" 2>&1 || fail "t2u search failed"
grep -q "^uuid=CAM-C11,ip=127.0.0.1" "$work/search.log" || fail "t2u search did not find the agent"
python3 -c 'import socket,sys
s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.settimeout(1)
s.sendto(bytes([0x2f,0,0,0,1,0]),("127.0.0.1",int(sys.argv[1])))
try: s.recv(100); sys.exit(1)
except socket.timeout: pass' "$DISC" || fail "an unpadded SEARCH was answered"
stop_pid "$a11_pid"
echo "interop: LAN discovery answered t2u search, refused an unpadded SEARCH"
# 11. IPv6 targets and allow rules: an echo on [::1] (the device itself) and through an IPv4-mapped
#     address; an IPv6 host outside --allow is refused with the policy status.
ECHO6=$((BASE + 84))
python3 -c 'import socket,sys,threading,time
s=socket.socket(socket.AF_INET6); s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1); s.bind(("::1",int(sys.argv[1]))); s.listen(8)
def echo(c):
    with c:
        while d:=c.recv(65536): c.sendall(d)
s.settimeout(0.2); end=time.time()+90
while time.time()<end:
    try: threading.Thread(target=echo,args=(s.accept()[0],),daemon=True).start()
    except socket.timeout: pass' "$ECHO6" &
pids+=($!)
wait_for 10 python3 -c 'import socket,sys; socket.create_connection(("::1",int(sys.argv[1]))).close()' "$ECHO6" ||
    fail "the IPv6 echo did not start"
start_agent a12 CAM-C12 127.0.0.1 "$PORT" "$KEY" --no-discovery --allow "[2001:db8:5::/48]:7"
wait_for 15 online CAM-C12 || fail "agent a12 not online"
check6() { timeout 40 "$T2U_BIN/t2u" check CAM-C12 "$1" --to "$2" --bytes 200000 --timeout 30 --server 127.0.0.1 --port "$PORT" \
    --key "$KEY" --known-devices "$work/known" 2>>"$work/check6.log"; }
check6 "$ECHO6" ::1 | grep -q "^CHECK ok=1" || fail "IPv6 target [::1] did not echo"
check6 7 2001:db8:6::1 | grep -q "^CHECK ok=1" && fail "IPv6 target outside --allow was connected"
grep -q "stream [0-9]* refused: \[2001:db8:6::1\]:7 is not allowed" "$work/a12.log" || fail "IPv6 refusal not logged"
stop_pid "$a12_pid"
echo "interop: IPv6 target [::1] echoed; [2001:db8:6::1]:7 outside --allow refused"
echo "interop: PASS"
