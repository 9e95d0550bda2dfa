#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the t2u authors
# The lab cleans up after itself: a failed `up` (here: the NAT probe fails), an `up` stopped by
# SIGTERM, and `down` all leave no namespace of that lab behind, and never touch another lab's.
# And the delay line (--rtt) adds the round trip it is asked for, and goes with its lab.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
lab="$here/lab.sh"
# Lab names start with $T2U_LAB when set (so parallel users keep to their own prefix).
base="${T2U_LAB:-t2u-}"
shim="$(mktemp -d "${TMPDIR:-/tmp}/t2u-labself.XXXXXX")"
other="${base}$$-other-"
cleanup() {
    T2U_LAB="$other" "$lab" down >/dev/null 2>&1 || true
    T2U_LAB="${base}$$-a-" "$lab" down >/dev/null 2>&1 || true
    T2U_LAB="${base}$$-b-" "$lab" down >/dev/null 2>&1 || true
    T2U_LAB="${base}$$-c-" "$lab" down >/dev/null 2>&1 || true
    rm -rf "$shim"
}
trap cleanup EXIT
count() { ip netns list 2>/dev/null | awk '{print $1}' | grep -c "^$1" || true; }
fail() { echo "selftest: FAIL: $*" >&2; exit 1; }

# A bystander namespace under a similar name must survive everything below.
ip netns add "${other}inet"

# 1. The probe fails: up exits non-zero and removes its namespaces.
real_python="$(command -v python3)"
cat >"$shim/python3" <<SHIM
#!/usr/bin/env bash
for a in "\$@"; do [ "\$a" = probe ] && { echo "shim: probe fails on purpose"; exit 1; }; done
exec "$real_python" "\$@"
SHIM
chmod +x "$shim/python3"
if T2U_LAB="${base}$$-a-" PATH="$shim:$PATH" "$lab" up --client-nat cone --device-nat cone >/dev/null 2>&1; then
    fail "up succeeded although the probe failed"
fi
[ "$(count "${base}$$-a-")" = 0 ] || fail "failed up left namespaces: $(ip netns list | grep "${base}$$-a-")"
echo "selftest: failed up removed its namespaces"

# 2. SIGTERM during up.
T2U_LAB="${base}$$-b-" "$lab" up --client-nat fullcone --device-nat symmetric >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1 100); do [ "$(count "${base}$$-b-")" -ge 3 ] && break; sleep 0.05; done
kill -TERM "$pid"
wait "$pid" 2>/dev/null || true
[ "$(count "${base}$$-b-")" = 0 ] || fail "interrupted up left namespaces: $(ip netns list | grep "${base}$$-b-")"
echo "selftest: interrupted up removed its namespaces"

# 3. A good up, then down.
T2U_LAB="${base}$$-a-" "$lab" up --client-nat none --device-nat cone >/dev/null
[ "$(count "${base}$$-a-")" = 6 ] || fail "up did not create 6 namespaces"
T2U_LAB="${base}$$-a-" "$lab" down
[ "$(count "${base}$$-a-")" = 0 ] || fail "down left namespaces"
[ "$(count "$other")" = 1 ] || fail "a bystander namespace was removed"
echo "selftest: up/down clean, bystander untouched"

# 4. A delay line: --rtt 40 adds 40 ms to the client's round trip to the server (ping's minimum
# within 38...50 ms; the lab alone is ~0.1 ms), the device's own path stays fast, and down ends
# the forwarder. The minimum, not the average: on a busy CI host one late wake-up of the
# userspace line lifts the average of five pings past any fair bound without saying anything of
# the delay the line adds.
command -v ping >/dev/null || fail "ping missing (apt-get install iputils-ping)"
T2U_LAB="${base}$$-c-" "$lab" up --client-nat cone --device-nat cone --rtt 40 >/dev/null
min_rtt() { T2U_LAB="${base}$$-c-" "$lab" exec "$1" timeout 20 ping -q -c 5 -i 0.2 203.0.113.10 | sed -n 's|^rtt [^=]*= \([0-9.]*\)/.*|\1|p'; }
rtt="$(min_rtt cli)"
fast="$(min_rtt dev)"
awk -v r="$rtt" 'BEGIN { exit !(r >= 38 && r <= 50) }' || fail "RTT through a 40 ms delay line was '$rtt' ms"
awk -v r="$fast" 'BEGIN { exit !(r < 5) }' || fail "the device's path (no delay line) had RTT '$fast' ms"
line_pid="$(ip netns pids "${base}$$-c-inet" | head -n1)"
T2U_LAB="${base}$$-c-" "$lab" down
[ "$(count "${base}$$-c-")" = 0 ] || fail "down left namespaces of the delay lab"
# Alive = present and not a zombie; an exiting line gets 2 s (its reaping by init can lag).
line_alive() { [ -r "/proc/$1/stat" ] && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]; }
if [ -n "$line_pid" ]; then
    for _ in $(seq 1 40); do line_alive "$line_pid" || break; sleep 0.05; done
    if line_alive "$line_pid"; then fail "the delay line outlived its lab"; fi
fi
echo "selftest: delay line --rtt 40: ping minimum RTT ${rtt} ms (device's path ${fast} ms), removed with its lab"
