#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the t2u authors
# The NAT lab part of scripts/test.sh: lab self-test (cleanup), traversal grid, LAN search,
# faults, hosts, UDP blocked (TCP/TLS fallback), IPv6, port mapping (with miniupnpd), netcheck.
# Needs root, `ip netns`, nftables, ethtool, conntrack and python3; otherwise prints why it skips
# and exits 0. T2U_NETLAB=skip skips it; T2U_NETLAB=report runs everything but asserts only that
# cells connect and searches find (not which path they took).
# Binaries: $T2U_BIN or the release build with scripts/test.sh's flags.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
mode="${T2U_NETLAB:-assert}"

skip() { echo "netlab: skipped: $*"; exit 0; }
[ "$mode" != skip ] || skip "T2U_NETLAB=skip"
[ "$(id -u)" = 0 ] || skip "not root (network namespaces need root; CI runs as root)"
for tool in ip nft ethtool conntrack python3 timeout; do
    command -v "$tool" >/dev/null 2>&1 || skip "$tool missing (.ci/run installs nftables, iproute2, ethtool, conntrack)"
done
probe="t2u-probe-$$"
ip netns add "$probe" 2>/dev/null || skip "ip netns add fails here (no namespace support or no CAP_SYS_ADMIN)"
probe_ok=1
why=""
if ! ip netns exec "$probe" true 2>/dev/null; then probe_ok=0; why="ip netns exec fails here"
elif ! ip netns exec "$probe" nft list ruleset >/dev/null 2>&1; then probe_ok=0; why="nftables does not work in a namespace here"
fi
ip netns del "$probe"
[ "$probe_ok" = 1 ] || skip "$why"

# Names the lab scripts use (t2u-PID-N-HOST, selftest's t2u-PID-a-HOST ...), not other tools'.
lab_namespaces() { ip netns list 2>/dev/null | awk '{print $1}' | grep -E '^t2u-[0-9]+-([0-9]+|a|b|c|other)-[a-z0-9]+$' | sort || true; }
before="$(lab_namespaces)"
report=()
[ "$mode" = report ] && report=(--report-only)
started=$SECONDS
status=0
failed_steps=()
step() {
    local name="$1"; shift
    local t=$SECONDS
    echo "netlab: --- $name ---"
    if "$@"; then
        echo "netlab: $name passed ($((SECONDS - t)) s)"
    else
        echo "netlab: $name FAILED ($((SECONDS - t)) s)" >&2
        failed_steps+=("$name")
        status=1
    fi
}
step "lab self-test" "$here/selftest.sh"
step "traversal grid" "$here/grid.sh" "${report[@]}"
step "LAN search" "$here/search.sh" "${report[@]}"
step "faults" "$here/faults.sh"
step "hosts (no default route, multi-homed, interface gone)" "$here/hosts.sh"
step "UDP blocked (TCP/TLS fallback)" "$here/udpblocked.sh"
step "IPv6 (only, dual stack, symmetric x symmetric + IPv6, behind stateful firewalls)" "$here/ipv6.sh"
if command -v miniupnpd >/dev/null 2>&1; then
    step "port mapping" "$here/portmap.sh" "${report[@]}"
else
    echo "netlab: port mapping skipped: miniupnpd missing (.ci/run installs miniupnpd-nftables)"
fi
step "netcheck (symmetric, cone, miniupnpd)" "$here/netcheck.sh"
leaked="$(comm -13 <(echo "$before") <(lab_namespaces) | tr '\n' ' ')"
if [ -n "${leaked// /}" ]; then
    echo "netlab: namespaces left behind: $leaked" >&2
    failed_steps+=("cleanup (namespaces left behind: $leaked)")
    status=1
fi
echo "netlab: done in $((SECONDS - started)) s"
# Last, on stdout too: a CI page that shows only the tail of the log still names what failed.
for name in "${failed_steps[@]}"; do echo "netlab: FAILED: $name (its output is above)"; done
exit "$status"
