#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the t2u authors
# LAN discovery over IPv6 multicast (loopback has none): two network namespaces joined by two veth
# pairs, the agent in the first (its server an unanswering 127.0.0.1:9; discovery does not need
# one). From the second, a padded SEARCH to [ff02::7011%if]:port:
#   - over the pair with 2001:db8:77::1/64 and ::2/64: one reply naming 2001:db8:77::1 and the
#     agent's UDP port, from the agent's link-local address (the query came from ours);
#   - over the pair with link-local addresses only: one reply naming :: (the client takes the
#     reply's source);
#   - unicast to 2001:db8:77::1 from 2001:db8:99::2 (routed back on-link, but not one of the
#     agent's subnets): no reply.
# Root only (skipped otherwise); the namespaces are removed on exit, whatever happens. ~3 s.
#   tests/discovery6.sh [AGENT]     AGENT default build/t2usvr-c; AGENT_RUNNER e.g. "qemu-mipsel"
set -euo pipefail
cd "$(dirname "$0")/.."
AGENT="${1:-build/t2usvr-c}"
RUNNER="${AGENT_RUNNER:-}"
if [ "$(id -u)" != 0 ]; then
    echo "discovery6: skipped (not root: network namespaces)"
    exit 0
fi
for tool in ip python3 timeout; do
    command -v "$tool" >/dev/null 2>&1 || { echo "discovery6: skipped ($tool missing)"; exit 0; }
done
A="t2u-d6a-$$" B="t2u-d6b-$$"
DISC=7011 UDP=7000
work="$(mktemp -d "${TMPDIR:-/tmp}/t2u-discovery6.XXXXXX")"
agent_pid=""
cleanup() {
    if [ -n "$agent_pid" ]; then kill "$agent_pid" 2>/dev/null || true; wait "$agent_pid" 2>/dev/null || true; fi
    ip netns del "$A" 2>/dev/null || true
    ip netns del "$B" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "discovery6: FAIL: $*" >&2; [ -f "$work/agent.log" ] && cat "$work/agent.log" >&2; exit 1; }

ip netns add "$A"
ip netns add "$B"
for ns in "$A" "$B"; do
    # no duplicate address detection: link-local addresses usable at once
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
    ip -n "$ns" link set lo up
done
ip -n "$A" link add d6g type veth peer name d6g netns "$B" # global addresses
ip -n "$A" link add d6l type veth peer name d6l netns "$B" # link-local only
ip -n "$A" addr add 2001:db8:77::1/64 dev d6g nodad
ip -n "$B" addr add 2001:db8:77::2/64 dev d6g nodad
ip -n "$B" addr add 2001:db8:99::2/64 dev d6g nodad
for ns in "$A" "$B"; do for dev in d6g d6l; do ip -n "$ns" link set "$dev" up; done; done
ip -n "$A" route add 2001:db8:99::/64 dev d6g # a reply could go back: the gate alone refuses
for _ in $(seq 1 50); do # the link-local addresses (the veths up)
    [ "$(ip -n "$A" -6 addr show scope link | grep -c 'inet6 fe80')" -ge 2 ] &&
        [ "$(ip -n "$B" -6 addr show scope link | grep -c 'inet6 fe80')" -ge 2 ] && break
    sleep 0.1
done

# shellcheck disable=SC2086
ip netns exec "$A" timeout 60 $RUNNER "$AGENT" CAM-D6 127.0.0.1 9 --discovery-port "$DISC" --udp-port "$UDP" \
    >"$work/agent.log" 2>&1 &
agent_pid=$!
for _ in $(seq 1 50); do grep -q "device agent started" "$work/agent.log" && break; sleep 0.2; done
grep -q "device agent started" "$work/agent.log" || fail "the agent did not start"
grep -q "ff02::7011 not joined" "$work/agent.log" && fail "the agent did not join ff02::7011"

ip netns exec "$B" timeout 20 python3 - "$DISC" "$UDP" <<'EOF' || fail "see above"
import socket, struct, sys
port, agent = int(sys.argv[1]), int(sys.argv[2])
query = bytes([0x2f, 0, 0, 0, 42, 0]) + bytes(90)  # every device, padded to 96 bytes

def search(destination, source=None, interface=None, tries=3):
    """The replies to a SEARCH (re-sent up to `tries` times while none comes)."""
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.settimeout(1)
    if source:
        s.bind((source, 0))
    scope = socket.if_nametoindex(interface) if interface else 0
    if scope:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, struct.pack("@I", scope))
    replies = []
    for _ in range(tries):
        s.sendto(query, (destination, port, 0, scope))
        try:
            while True:
                replies.append(s.recvfrom(200))
                s.settimeout(0.3)
        except socket.timeout:
            pass
        if replies:
            break
    return replies

def expect_one(replies, named, what):
    assert len(replies) == 1, f"{what}: {len(replies)} replies"
    reply, source = replies[0]
    want = bytes([0x30, 0, 0, 0, 42, 6]) + b"CAM-D6" + b"\x06" + socket.inet_pton(socket.AF_INET6, named) + agent.to_bytes(2, "big")
    assert reply == want and len(reply) <= len(query), f"{what}: {reply.hex()} != {want.hex()}"
    print(f"discovery6: {what}: reply from {source[0]} naming [{named}]:{agent}")

expect_one(search("ff02::7011", interface="d6g"), "2001:db8:77::1", "ff02::7011 on the link with 2001:db8:77::/64")
expect_one(search("ff02::7011", interface="d6l"), "::", "ff02::7011 on the link-local-only link")
assert not search("2001:db8:77::1", source="2001:db8:99::2", tries=1), "an off-subnet source was answered"
print("discovery6: off-subnet source 2001:db8:99::2 (unicast): no reply")
EOF
kill "$agent_pid"
rc=0
wait "$agent_pid" 2>/dev/null || rc=$?
agent_pid=""
[ "$rc" -eq 0 ] || fail "the agent exited with status $rc after SIGTERM" # (under ASan: a leak, an error)
echo "discovery6: PASS"
