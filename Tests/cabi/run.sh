#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the t2u authors
# End-to-end test of libt2u's C ABI: builds libt2u.so, t2u-server and t2usvr, starts two servers
# (one with a key), two device agents (one with a password, one with --extra and an --allow
# entry), two TCP echo services, then runs abi_test.c (compiled with cc against t2u.h).
# Only loopback. Kills exactly the processes it started, on every exit path.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/t2u-cabi.XXXXXX")"
# libt2u pins device keys; these devices have new keys on every run: pin them in $WORK (removed).
export T2U_KNOWN_DEVICES="$WORK/known_devices"
PIDS=()
cleanup() {
    local status=$?
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    if [ "$status" -ne 0 ]; then
        for log in "$WORK"/*.log; do [ -e "$log" ] && { echo "--- $log"; tail -n 30 "$log"; }; done
    fi
    rm -rf "$WORK"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# shellcheck disable=SC2086
FLAGS=(-c release ${T2U_SWIFT_BUILD_FLAGS:-})
scripts/build-libt2u.sh "$WORK/libt2u" >/dev/null
swift build "${FLAGS[@]}" --product t2u-server
swift build "${FLAGS[@]}" --product t2usvr
BIN="$(swift build "${FLAGS[@]}" --show-bin-path)"

LIB="$WORK/libt2u"
# The header is plain C99 and C++; the library exports exactly the t2u_* functions.
echo '#include "t2u.h"' > "$WORK/h.c"
cc -std=c99 -Wall -Wextra -Werror -pedantic -I"$LIB/include" -c "$WORK/h.c" -o "$WORK/h.o"
c++ -Wall -Wextra -Werror -x c++ -I"$LIB/include" -c "$WORK/h.c" -o "$WORK/hpp.o"
EXPORTS="$(nm -D --defined-only "$LIB/lib/libt2u.so" | awk '$2 ~ /^[TWDBRVGSiu]$/ {print $3}' | sort | tr '\n' ' ')"
WANT="t2u_add_port t2u_add_port_ex t2u_add_port_v3 t2u_del_port t2u_exit t2u_get_rate t2u_init t2u_port_peer_address t2u_port_status t2u_query t2u_query_ex t2u_search t2u_set_callback t2u_set_port_range t2u_status t2u_version "
if [ "$EXPORTS" != "$WANT" ]; then
    echo "libt2u.so exports: $EXPORTS" >&2
    echo "expected:          $WANT" >&2
    exit 1
fi
echo "header compiles as C99 and C++; libt2u.so exports exactly the 14 t2u_* functions of the manual and the t2u_version and t2u_port_peer_address extensions"

export PKG_CONFIG_PATH="$LIB/lib/pkgconfig"
# shellcheck disable=SC2046
cc -std=c11 -Wall -Wextra -Werror -pthread Tests/cabi/abi_test.c $(pkg-config --cflags --libs t2u) -o "$WORK/abi_test"

# Waits for a log line matching $2 in file $1 and prints the first capture group.
await_port() {
    local file="$1" pattern="$2" i
    for i in $(seq 1 200); do
        local port
        port="$(sed -n -E "s/.*$pattern.*/\1/p" "$file" | head -n1)"
        if [ -n "$port" ]; then echo "$port"; return 0; fi
        sleep 0.05
    done
    echo "timed out waiting for /$pattern/ in $file" >&2
    return 1
}

start() {  # start NAME COMMAND...: background, logs in $WORK/NAME.log
    local name="$1"; shift
    "$@" >"$WORK/$name.log" 2>&1 &
    PIDS+=("$!")
}

start echo1 python3 Tests/cabi/echo.py 127.0.0.1
start echo2 python3 Tests/cabi/echo.py 127.0.0.2
ECHO1="$(await_port "$WORK/echo1.log" '^([0-9]+)$')"
ECHO2="$(await_port "$WORK/echo2.log" '^([0-9]+)$')"

# svrkey is the server's public key: one server's agents pin it, the other's pass NULL.
KEY="$("$BIN/t2u-server" --key-file "$WORK/server.key" --print-public-key)"
start server-nokey "$BIN/t2u-server" --bind 127.0.0.1 --port 0
start server-key "$BIN/t2u-server" --bind 127.0.0.1 --port 0 --key-file "$WORK/server.key" --tcp-port 0
PORT_NOKEY="$(await_port "$WORK/server-nokey.log" 'main=[^ ]*:([0-9]+)')"
PORT_KEY="$(await_port "$WORK/server-key.log" 'main=[^ ]*:([0-9]+)')"
TCP_PORT_KEY="$(await_port "$WORK/server-key.log" 'tcp=[^ ]*:([0-9]+)')"

# A free UDP port for discovery; two free 50-port ranges for t2u_set_port_range and a dead port.
read -r DISCOVERY_PORT RANGE_LO < <(python3 - <<'PY'
import random, socket
def free(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind(("0.0.0.0", port)); return True
    except OSError:
        return False
    finally:
        s.close()
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); disc = s.getsockname()[1]; s.close()
while True:
    lo = random.randrange(20000, 30000)
    if all(free(p) for p in range(lo, lo + 200)):
        print(disc, lo); break
PY
)

DEV_EX="cabi-ex-$$"
DEV_PW="cabi-pw-$$"
EXTRA="model=CABI-1;fw=2.0;note=extra parameters of the test device"
PASSWORD="pw-$$"
# t2usvr UUID SERVER PORT [KEY]: launched as vendors launch the original agent.
start dev-ex "$BIN/t2usvr" "$DEV_EX" 127.0.0.1 "$PORT_KEY" "$KEY" \
    --extra "$EXTRA" --allow "127.0.0.2:$ECHO2" --discovery-port "$DISCOVERY_PORT"
start dev-pw "$BIN/t2usvr" "$DEV_PW" 127.0.0.1 "$PORT_KEY" "$KEY" --password "$PASSWORD" --no-discovery

# t2u_version() must be the string the binaries print.
export T2U_TEST_VERSION="$("$BIN/t2u-server" --version)"
export T2U_TEST_SERVER=127.0.0.1 T2U_TEST_PORT_NOKEY="$PORT_NOKEY" T2U_TEST_PORT_KEY="$PORT_KEY" T2U_TEST_KEY="$KEY"
export T2U_TEST_DEV_EX="$DEV_EX" T2U_TEST_EXTRA="$EXTRA" T2U_TEST_DEV_PW="$DEV_PW" T2U_TEST_PASSWORD="$PASSWORD"
export T2U_TEST_ECHO_PORT="$ECHO1" T2U_TEST_ECHO2_HOST=127.0.0.2 T2U_TEST_ECHO2_PORT="$ECHO2" T2U_TEST_RANGE_LO="$RANGE_LO"
# libt2u's discovery probe goes to the agent's unicast address instead of the multicast group.
export T2U_DISCOVERY_ADDR=127.0.0.1 T2U_DISCOVERY_PORT="$DISCOVERY_PORT"

"$WORK/abi_test"

# The example of Examples/c, built with its documented line, against the same device.
# shellcheck disable=SC2046
(cd Examples/c && cc flow.c $(pkg-config --cflags --libs t2u) -o "$WORK/flow")
"$WORK/flow" "$DEV_EX" 127.0.0.1 "$PORT_KEY" "$ECHO1" "$KEY" > "$WORK/flow.log" 2>&1
grep -q "received .* bytes: hello through t2u" "$WORK/flow.log"
echo "Examples/c/flow.c: echo through the mapped port OK"

# UDP to the server dead (flow is given a UDP port where nothing listens: the TCP port's number)
# and T2U_TCP_PORT naming the server's TCP/TLS fallback: the same unchanged C program registers,
# queries and connects over TCP (the link itself may go direct: only the server's UDP is dead).
T2U_TCP_PORT="$TCP_PORT_KEY" "$WORK/flow" "$DEV_EX" 127.0.0.1 "$TCP_PORT_KEY" "$ECHO1" "$KEY" > "$WORK/flow-tcp.log" 2>&1 \
    || { cat "$WORK/flow-tcp.log" >&2; echo "flow.c over the TCP/TLS fallback failed" >&2; exit 1; }
grep -q "received .* bytes: hello through t2u" "$WORK/flow-tcp.log"
echo "Examples/c/flow.c: UDP to the server dead, T2U_TCP_PORT: registered over TCP/TLS, echo through the mapped port OK"

# libt2u fails closed on a changed device key: a file pinning DEV_EX to another key gives -6.
WRONG_PINS="$WORK/known_devices.wrong"
printf '# a pin the device cannot match\n%s %s\n' "$DEV_EX" "$(printf 'ab%.0s' $(seq 1 32))" > "$WRONG_PINS"
chmod 600 "$WRONG_PINS"
# shellcheck disable=SC2046
cc -std=c11 -Wall -Wextra -Werror -pthread Tests/cabi/pins_test.c $(pkg-config --cflags --libs t2u) -o "$WORK/pins_test"
T2U_KNOWN_DEVICES="$WRONG_PINS" "$WORK/pins_test"
