#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the t2u authors
# Interop on loopback: the Swift t2u-server, `t2u query`, `t2u forward`, `t2u check` and
# `t2u search` against a device agent, the C one or the Swift one, with the same assertions
# (issue 12: the C agent's behaviour against the Swift agent's, on the same tests): registration
# and identity, failover, IPv6, the transport handshake with the password, data both ways on the
# direct path and through the relay, LAN discovery, IPv6 targets and the allow policy, the TCP
# fallback to the server where UDP is blocked (and back to UDP).
#   tests/interop.sh [AGENT]      AGENT_KIND=c (default): AGENT default build/t2usvr-c
#                                 AGENT_KIND=swift:       AGENT default $T2U_BIN/t2usvr
# Env: T2U_BIN (Swift t2u-server, t2u, t2usvr; default /tmp/t2u-main-bin), AGENT_RUNNER (e.g.
# "qemu-arm -L /usr/arm-linux-gnueabihf"), T2U_PORT_BASE (default 47300), CAGENT_BYTES (transfer
# size, default 8000000). Every process it starts is stopped by PID on exit; every wait is bounded.
#
# The checks read what a user or operator sees: exit codes, `t2u query` (with a pinned
# known-devices file), `t2u forward`'s status lines, `t2u check`'s CHECK line and the server's
# /status counters. Two agent log lines are shared by both agents' texts and checked for both (the
# svrkey mismatch and the unpinned-server warning: the operator's only signal). Checks of the C
# agent alone (AGENT_KIND=c) and why:
#   - its identityConflict log text (the Swift agent words it differently; the refusal itself is
#     checked for both through the server's bindingConflict counter);
#   - the library form (examples/embed.c through t2u_agent.h: the Swift agent has none);
#   - LAN discovery over IPv6 (a SEARCH to [::1]): the Swift agent gets it in the same change;
#     run for both once the Swift binaries in T2U_BIN have it;
#   - the relay as a fallback: T2U_AGENT_RELAY_ONLY=1 (a C test knob) makes the agent drop transport
#     packets not from the server, so an unrestricted client tries the direct path, fails and falls
#     back to the relay; `t2u forward --relay-only` (run for both) never tries the direct path.
set -euo pipefail
cd "$(dirname "$0")/.."
AGENT_KIND="${AGENT_KIND:-c}"
T2U_BIN="${T2U_BIN:-/tmp/t2u-main-bin}"
case "$AGENT_KIND" in
c) AGENT="${1:-build/t2usvr-c}" ;;
swift) AGENT="${1:-$T2U_BIN/t2usvr}" ;;
*) echo "interop: AGENT_KIND must be c or swift, not '$AGENT_KIND'" >&2; exit 2 ;;
esac
RUNNER="${AGENT_RUNNER:-}"
BASE="${T2U_PORT_BASE:-47300}"
PORT=$((BASE))
ADMIN=$((BASE + 90))
ADMIN6=$((BASE + 91))
DEAD=$((BASE + 50))
work="$(mktemp -d "${TMPDIR:-/tmp}/t2u-interop-$AGENT_KIND.XXXXXX")"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT
say() { echo "interop [$AGENT_KIND agent]: $*"; }
fail() {
    echo "interop [$AGENT_KIND agent $AGENT]: FAIL: $*" >&2
    for f in "$work"/*.log; do echo "--- $f" >&2; tail -20 "$f" >&2; done
    exit 1
}
[ -x "$AGENT" ] || fail "no agent binary $AGENT"
for bin in t2u-server t2u; do [ -x "$T2U_BIN/$bin" ] || fail "no $T2U_BIN/$bin"; done
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
# query UUID [KNOWN_DEVICES]: `t2u query`'s exit status (0 online, 1 offline, 3 device key changed).
query() { "$T2U_BIN/t2u" query "$1" --server 127.0.0.1 --port "$PORT" --key "$KEY" --known-devices "${2:-$work/known}"; }
online() { query "$1"; }
query_rc() { local rc=0; query "$@" >"$work/query.out" 2>&1 || rc=$?; echo "$rc"; }
# status_value NAME [ADMIN_PORT]: a number of the server's /status (top level, counters or rejected).
status_value() {
    curl -sf "127.0.0.1:${2:-$ADMIN}/status" | python3 -c 'import json,sys
d=json.load(sys.stdin); n=sys.argv[1]
for part in (d, d["counters"], d["rejected"]):
    if n in part: print(part[n]); sys.exit(0)
sys.exit(1)' "$1"
}
value_above() { [ "$(status_value "$1")" -gt "$2" ]; } # NAME BASELINE
devices_online() { [ "$(status_value devices_online)" = "$1" ]; }

"$T2U_BIN/t2u-server" --port "$PORT" --bind 127.0.0.1 --key-file "$work/server.key" --admin "127.0.0.1:$ADMIN" \
    >"$work/server.log" 2>&1 &
pids+=($!)
wait_for 10 curl -sf "127.0.0.1:$ADMIN/status" || fail "t2u-server did not start"
KEY="$("$T2U_BIN/t2u-server" --key-file "$work/server.key" --print-public-key)"
(umask 077 && printf 'right\n' >"$work/password")
say "$AGENT against $T2U_BIN/t2u-server"

# 1. Registers (pinned svrkey), online for t2u query and /status. The key the server vouches for
#    is the state file's (--print-public-key): a query pinning it answers online (0), a query
#    pinning another key answers "device key changed" (3).
start_agent a1 CAM-C1 127.0.0.1 "$PORT" "$KEY" --state "$work/dev.key" --no-discovery
wait_for 15 online CAM-C1 || fail "agent not online"
devices_online 1 || fail "/status does not show one device"
# shellcheck disable=SC2086
pub="$($RUNNER "$AGENT" CAM-C1 x 1 --state "$work/dev.key" --print-public-key)"
printf 'CAM-C1 %s\n' "$pub" >"$work/pin"
printf 'CAM-C1 %s\n' "$(printf '22%.0s' $(seq 32))" >"$work/pin-other"
[ "$(query_rc CAM-C1 "$work/pin")" = 0 ] || fail "--print-public-key is not the key the server vouches for"
[ "$(query_rc CAM-C1 "$work/pin-other")" = 3 ] || fail "a query pinning another key did not answer 'device key changed'"
say "registered, online, device key $pub (as --print-public-key says)"

# 2. Another key for the same UUID is refused (identityConflict: the server's bindingConflict
#    counter); the UUID stays bound to the first key.
conflicts="$(status_value bindingConflict)"
start_agent a2 CAM-C1 127.0.0.1 "$PORT" "$KEY" --state "$work/other.key" --no-discovery
wait_for 10 value_above bindingConflict "$conflicts" || fail "another key for CAM-C1 was not refused"
if [ "$AGENT_KIND" = c ]; then # the C agent's wording of the refusal
    wait_for 10 grep -q "error 8" "$work/a2.log" || fail "the C agent did not log the identityConflict refusal"
fi
stop_pid "$a2_pid"
[ "$(query_rc CAM-C1 "$work/pin")" = 0 ] || fail "CAM-C1 no longer online with its first key"
say "another key refused (identityConflict)"

# 3. Restart with the same key file: registered again (the registrations counter), no conflict.
stop_pid "$a1_pid"
registrations="$(status_value registrations)"
conflicts="$(status_value bindingConflict)"
start_agent a3 CAM-C1 127.0.0.1 "$PORT" "$KEY" --state "$work/dev.key" --no-discovery
wait_for 15 value_above registrations "$registrations" || fail "restart with the same key not registered"
[ "$(query_rc CAM-C1 "$work/pin")" = 0 ] || fail "restarted agent not online with its key"
[ "$(status_value bindingConflict)" = "$conflicts" ] || fail "restart with the same key was refused"
say "restart with the same key accepted"
stop_pid "$a3_pid"

# 4. A wrong svrkey: the agent finds the server's key is not the one it was given before it sends
#    its registration, says so (both agents' text: "... is not the svrkey ..."), and never goes
#    online.
start_agent a4 CAM-C4 127.0.0.1 "$PORT" "$(printf '11%.0s' $(seq 32))" --no-discovery
wait_for 10 grep -q "is not the svrkey" "$work/a4.log" || fail "a wrong svrkey was not rejected"
[ "$(query_rc CAM-C4)" = 1 ] || fail "online under a wrong svrkey"
stop_pid "$a4_pid"
say "wrong svrkey rejected"

# 5. Failover: the first server of the list never answers; the agent moves to the second.
start_agent a5 CAM-C5 "127.0.0.1:$DEAD,127.0.0.1:$PORT" 7000 "$KEY" --no-discovery
wait_for 20 online CAM-C5 || fail "no failover to the second server"
stop_pid "$a5_pid"
say "failover to the second server of the list"

# 5b. IPv6: a server on ::1 only. The agent's socket registers with it over IPv6 and a client
#     asking over IPv6 sees it online; after a connection over IPv6 the server's punch-outcome
#     table names the device's NAT behaviour (known only from the agent's NAT probe).
V6PORT=$((BASE + 60))
"$T2U_BIN/t2u-server" --port "$V6PORT" --bind ::1 --key-file "$work/server.key" --admin "127.0.0.1:$ADMIN6" \
    >"$work/server6.log" 2>&1 &
pids+=($!)
wait_for 10 curl -sf "127.0.0.1:$ADMIN6/status" || fail "the IPv6 t2u-server did not start"
start_agent a5b CAM-C5B "[::1]:$V6PORT" 7000 "$KEY" --no-discovery
wait_for 15 "$T2U_BIN/t2u" query CAM-C5B --server ::1 --port "$V6PORT" --key "$KEY" --known-devices "$work/known" ||
    fail "the agent registered over IPv6 is not online for a client over IPv6"
nat_known6() { curl -sf "127.0.0.1:$ADMIN6/status" | grep -q '"device_nat":"\(none\|endpoint_[a-z_]*\)"'; }
for attempt in 1 2 3; do
    "$T2U_BIN/t2u" forward CAM-C5B 9 --server ::1 --port "$V6PORT" --key "$KEY" --known-devices "$work/known" \
        >"$work/forward-v6-$attempt.log" 2>&1 &
    fwd=$!
    pids+=("$fwd")
    wait_for 20 grep -q "^connected" "$work/forward-v6-$attempt.log" || fail "no connection through the IPv6 server"
    kill "$fwd"; wait "$fwd" 2>/dev/null || true
    wait_for 5 nat_known6 && break
    [ "$attempt" -lt 3 ] || fail "no NAT classification over IPv6 ($(curl -sf "127.0.0.1:$ADMIN6/status"))"
done
stop_pid "$a5b_pid"
say "IPv6 server [::1]: registered, online, connected, NAT probed"

# 6. Unpinned: registers and warns how to pin (both agents' text: "... not authenticated ...").
start_agent a6 CAM-C6 127.0.0.1 "$PORT" --no-discovery
wait_for 15 online CAM-C6 || fail "unpinned agent not online"
grep -q "not authenticated" "$work/a6.log" || fail "no warning for an unpinned server"
stop_pid "$a6_pid"
say "unpinned agent registered with a warning"

# 7. (C only: the Swift agent has no library form) examples/embed.c, built next to AGENT,
#    registers through t2u_agent.h.
if [ "$AGENT_KIND" = c ]; then
    embed="$(dirname "$AGENT")/embed"
    # shellcheck disable=SC2086
    timeout 30 $RUNNER "$embed" CAM-E7 127.0.0.1 "$PORT" "$KEY" >"$work/embed.log" 2>&1 || fail "the embedded agent did not register"
    grep -q "embedded agent registered" "$work/embed.log" || fail "embed printed no success"
    wait_for 5 online CAM-E7 || fail "the embedded agent was not online"
    say "library form (t2u_agent_start/stop, status callback) registered"
fi

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
stop_pid "$a8_pid"
say "handshake v2: wrong password rejected (exit 1), right password connected"

# 9. Data both ways through t2u forward, on the direct (LAN) path and through the relay: a
#    download (device -> client) and an upload (client -> device), each checked by SHA-256.
head -c "${CAGENT_BYTES:-8000000}" /dev/urandom >"$work/blob"
want="$(sha256sum "$work/blob" | cut -d' ' -f1)"
# Port 0: a fixed port in the ephemeral range was once taken by another socket (EADDRINUSE).
SINK_PORT_FILE="$work/sink.port" SINK_SERVE="$work/blob" python3 tests/tcp-sink.py 0 "$work/sink.sha" 180 &
pids+=($!)
wait_for 10 test -s "$work/sink.port" || fail "the TCP sink did not start"
SINK="$(cat "$work/sink.port")"
transfer() { # NAME LOCAL_PORT PATH: download and upload through 127.0.0.1:LOCAL_PORT
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
    say "$name path: $(stat -c %s "$work/blob") bytes down and up, SHA-256 verified"
}
forward_to_sink() { # NAME UUID LOCAL_PORT [t2u forward options...]
    local name="$1" uuid="$2" local_port="$3"; shift 3
    "$T2U_BIN/t2u" forward "$uuid" "$SINK" --local "$local_port" --server 127.0.0.1 --port "$PORT" --key "$KEY" \
        --known-devices "$work/known" "$@" >"$work/forward-$name.log" 2>&1 &
    fwd=$!
    pids+=("$fwd")
}
start_agent a9 CAM-C9 127.0.0.1 "$PORT" "$KEY" --no-discovery
wait_for 15 online CAM-C9 || fail "agent a9 not online"
forward_to_sink direct CAM-C9 $((BASE + 81))
transfer direct $((BASE + 81)) LAN
kill "$fwd"; wait "$fwd" 2>/dev/null || true
# The relay, forced by the client (t2u forward --relay-only): the server's relay counters grow by
# at least the data moved.
relay_bytes="$(status_value relay_bytes)"
forward_to_sink relay CAM-C9 $((BASE + 82)) --relay-only
transfer relay $((BASE + 82)) relay
kill "$fwd"; wait "$fwd" 2>/dev/null || true
value_above relay_bytes $((relay_bytes + 2 * $(stat -c %s "$work/blob"))) ||
    fail "relay: the server relayed $(($(status_value relay_bytes) - relay_bytes)) bytes, less than the transfer"
stop_pid "$a9_pid"
# (C only) The relay as a fallback: T2U_AGENT_RELAY_ONLY=1 makes the C agent drop transport
# packets not from the server; the unrestricted client tries the direct path and falls back.
if [ "$AGENT_KIND" = c ]; then
    T2U_AGENT_RELAY_ONLY=1 start_agent a10 CAM-C10 127.0.0.1 "$PORT" "$KEY" --no-discovery
    wait_for 15 online CAM-C10 || fail "agent a10 not online"
    forward_to_sink relay-fallback CAM-C10 $((BASE + 85))
    transfer relay-fallback $((BASE + 85)) relay
    kill "$fwd"; wait "$fwd" 2>/dev/null || true
    stop_pid "$a10_pid"
fi

# 10. LAN discovery: `t2u search` (unicast to loopback, our subnet) finds the agent; an unpadded
#     SEARCH gets nothing; (C agent) a padded SEARCH to [::1] gets one reply naming ::1 and the
#     agent's UDP port, one to 127.0.0.1 one reply (not a second one from the IPv6 socket).
DISC=$((BASE + 83))
DISCUDP=$((BASE + 88))
start_agent a11 CAM-C11 127.0.0.1 "$PORT" "$KEY" --discovery-port "$DISC" --udp-port "$DISCUDP"
wait_for 15 online CAM-C11 || fail "agent a11 not online"
"$T2U_BIN/t2u" search --address 127.0.0.1 --discovery-port "$DISC" --timeout 2 --server 127.0.0.1 --port "$PORT" \
    >"$work/search.log" 2>&1 || fail "t2u search failed"
grep -q "^uuid=CAM-C11,ip=127.0.0.1" "$work/search.log" || fail "t2u search did not find the agent"
python3 -c 'import socket,sys
s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.settimeout(1)
s.sendto(bytes([0x2f,0,0,0,1,0]),("127.0.0.1",int(sys.argv[1])))
try: s.recv(100); sys.exit(1)
except socket.timeout: pass' "$DISC" || fail "an unpadded SEARCH was answered"
if [ "$AGENT_KIND" = c ]; then
    python3 -c 'import socket,sys
port, agent = int(sys.argv[1]), int(sys.argv[2])
for family, host, named in ((socket.AF_INET6, "::1", b"\x06" + socket.inet_pton(socket.AF_INET6, "::1")),
                            (socket.AF_INET, "127.0.0.1", b"\x04" + socket.inet_aton("127.0.0.1"))):
    s = socket.socket(family, socket.SOCK_DGRAM); s.settimeout(2)
    q = bytes([0x2f, 0, 0, 0, 9, 0]) + bytes(90)
    s.sendto(q, (host, port))
    r = s.recv(200)
    want = bytes([0x30, 0, 0, 0, 9, 7]) + b"CAM-C11" + named + agent.to_bytes(2, "big")
    assert r == want and len(r) <= len(q), (host, r.hex(), want.hex())
    s.settimeout(0.3)
    try: s.recv(200); sys.exit("two replies to one SEARCH to " + host)
    except socket.timeout: pass' "$DISC" "$DISCUDP" || fail "SEARCH over IPv6 to [::1] / IPv4: not the one reply expected"
fi
stop_pid "$a11_pid"
say "LAN discovery answered t2u search$([ "$AGENT_KIND" = c ] && echo " and a SEARCH to [::1] (naming ::1)"), refused an unpadded SEARCH"

# 11. IPv6 targets and allow rules, through `t2u check` (echo, every byte compared): an echo on
#     [::1] (the device itself); on 127.0.0.2 (allowed) through its IPv4-mapped address; not on
#     127.0.0.3, the same echo (reachable: checked) but outside --allow, which the agent never
#     connects to (the echo logs every accepted connection); nor an IPv6 host outside --allow.
ECHO=$((BASE + 84))
python3 -c 'import socket,sys,threading,time
port=int(sys.argv[1]); log=sys.argv[2]; listeners=[]
for family,host in ((socket.AF_INET6,"::1"),(socket.AF_INET,"127.0.0.2"),(socket.AF_INET,"127.0.0.3")):
    s=socket.socket(family); s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1); s.bind((host,port)); s.listen(8)
    s.settimeout(0.2); listeners.append((s,host))
def echo(c):
    try:
        with c:
            while d:=c.recv(65536): c.sendall(d)
    except OSError: pass
def serve(s,host):
    end=time.time()+120
    while time.time()<end:
        try: c=s.accept()[0]
        except socket.timeout: continue
        with open(log,"a") as f: f.write(host+"\n")
        threading.Thread(target=echo,args=(c,),daemon=True).start()
threads=[threading.Thread(target=serve,args=l) for l in listeners]
for t in threads: t.start()
for t in threads: t.join()' "$ECHO" "$work/echo-accepts" &
pids+=($!)
reachable() { python3 -c 'import socket,sys; socket.create_connection((sys.argv[1],int(sys.argv[2])),timeout=2).close()' "$1" "$ECHO"; }
wait_for 10 reachable ::1 && reachable 127.0.0.2 && reachable 127.0.0.3 || fail "the echo did not start"
wait_for 5 grep -q 127.0.0.3 "$work/echo-accepts" || fail "the echo did not log the test connections"
: >"$work/echo-accepts"
start_agent a12 CAM-C12 127.0.0.1 "$PORT" "$KEY" --no-discovery --allow "[2001:db8:5::/48]:7" --allow "127.0.0.2:$ECHO"
wait_for 15 online CAM-C12 || fail "agent a12 not online"
check() { # PORT HOST: the CHECK line
    timeout 40 "$T2U_BIN/t2u" check CAM-C12 "$1" --to "$2" --bytes 200000 --timeout 30 --server 127.0.0.1 --port "$PORT" \
        --key "$KEY" --known-devices "$work/known" 2>>"$work/check.log" || true
}
check "$ECHO" ::1 | grep -q "^CHECK ok=1" || fail "IPv6 target [::1] did not echo"
check "$ECHO" ::ffff:127.0.0.2 | grep -q "^CHECK ok=1" || fail "allowed target ::ffff:127.0.0.2 did not echo"
check "$ECHO" 127.0.0.3 | grep -q "^CHECK ok=0 .* bytes=0 " || fail "target 127.0.0.3 outside --allow was not refused"
grep -q 127.0.0.3 "$work/echo-accepts" && fail "the agent connected to 127.0.0.3, outside --allow"
grep -q 127.0.0.2 "$work/echo-accepts" || fail "the echo saw no connection to 127.0.0.2"
check 7 2001:db8:6::1 | grep -q "^CHECK ok=0 .* bytes=0 " || fail "IPv6 target outside --allow was not refused"
stop_pid "$a12_pid"
say "targets: [::1] and ::ffff:127.0.0.2 (allowed) echoed; 127.0.0.3 and [2001:db8:6::1]:7 outside --allow refused"

# 13. The TCP fallback (docs/protocol/tcp-fallback.md): a server with --tcp-port. The C agent
#     speaks the upgrade without TLS, the Swift one with TLS: the server takes both on that port.
#     The agent reaches the server's UDP port only through a "firewall" (tests/udp-gate.py) that
#     drops everything until opened. Blocked: the agent registers over TCP, and a client gets a
#     byte-exact relayed transfer through it. Opened: the agent's UDP probe is answered, it
#     goes back to UDP (closes the stream) and a relayed transfer works again. A second agent
#     given the real UDP port and the TCP port never opens the stream.
FBPORT=$((BASE + 70)) # and +71, its observation port
FBTCP=$((BASE + 72))
GATE=$((BASE + 73))
FBADMIN=$((BASE + 92))
"$T2U_BIN/t2u-server" --port "$FBPORT" --tcp-port "$FBTCP" --bind 127.0.0.1 --key-file "$work/server.key" \
    --admin "127.0.0.1:$FBADMIN" --keepalive 5 --log-level debug >"$work/server-fb.log" 2>&1 &
pids+=($!)
PORT=$FBPORT ADMIN=$FBADMIN
wait_for 10 curl -sf "127.0.0.1:$ADMIN/status" || fail "the TCP fallback t2u-server did not start"
python3 tests/udp-gate.py "$GATE" "$FBPORT" "$work/gate-open" "$work/gate.log" 300 &
pids+=($!)
start_agent a13 CAM-C13 127.0.0.1 "$GATE" "$KEY" --tcp-port "$FBTCP" --no-discovery
wait_for 20 online CAM-C13 || fail "the agent did not register over TCP (UDP blocked)"
grep -q "server traffic now goes over TCP" "$work/a13.log" || fail "online, but the agent never said it moved to TCP"
grep -q "TCP fallback stream opened" "$work/server-fb.log" || fail "the server saw no fallback stream"
say "UDP to the server blocked: registered over TCP (port $FBTCP)"
relay_bytes="$(status_value relay_bytes)"
forward_to_sink fallback-tcp CAM-C13 $((BASE + 86)) --relay-only
transfer fallback-tcp $((BASE + 86)) relay
kill "$fwd"; wait "$fwd" 2>/dev/null || true
value_above relay_bytes $((relay_bytes + 2 * $(stat -c %s "$work/blob"))) ||
    fail "fallback: the server relayed $(($(status_value relay_bytes) - relay_bytes)) bytes, less than the transfer"
grep -q "UDP to the server answers again" "$work/a13.log" && fail "left TCP while UDP was still blocked"
# UDP opens: the agent's next probe (every 5 s) is answered; back to UDP, where the next
# keepalive moves its registration (the gate logs sealed datagrams passing).
: >"$work/gate-open"
wait_for 15 grep -q "UDP to the server answers again" "$work/a13.log" || fail "the agent did not go back to UDP"
wait_for 15 grep -q "^sealed" "$work/gate.log" || fail "no sealed signaling over UDP after going back"
online CAM-C13 >/dev/null || fail "not online after going back to UDP"
forward_to_sink fallback-udp CAM-C13 $((BASE + 87)) --relay-only
transfer fallback-udp $((BASE + 87)) relay
kill "$fwd"; wait "$fwd" 2>/dev/null || true
[ "$(grep -c "server traffic now goes over TCP" "$work/a13.log")" = 1 ] || fail "the agent went back to TCP with UDP open"
stop_pid "$a13_pid"
say "UDP opened: back to UDP (stream closed), relayed transfer over UDP"
# UDP works from the start: the stream is never opened.
start_agent a14 CAM-C14 127.0.0.1 "$FBPORT" "$KEY" --tcp-port "$FBTCP" --no-discovery
wait_for 15 online CAM-C14 || fail "agent a14 not online"
sleep 4 # beyond the 1.5 s after which a silent UDP would open the stream
grep -q "trying TCP" "$work/a14.log" && fail "the stream was opened although UDP answers"
[ "$(grep -c "TCP fallback stream opened" "$work/server-fb.log")" = 1 ] || fail "a second fallback stream was opened"
stop_pid "$a14_pid"
say "UDP answering: no stream opened"
say "PASS ($AGENT)"
