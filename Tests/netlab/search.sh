#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the t2u authors
# LAN search in the lab (dual stack: lab.sh up --ipv6 dual): `t2u search` (the same code as the C
# t2u_search) on dev2 finds the device agent on dev by multicast over the LAN bridge, once
# (uuid=LAB-DEV-1,ip=192.0.2.10: it answers on both families, IPv4 is listed); searching the IPv6
# group alone (ff02::7011, out of every IPv6 interface) finds it at 2001:db8:b::10. From cli,
# behind the other router, it finds nothing (TTL 1 / link scope, not routed). Then a client on
# dev2 maps the device's echo port and must use the LAN path. Root only; exit 1 with the logs
# on failure.
#
#   search.sh [--report-only]   --report-only: do not fail when the path is not lan
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
report_only=0
[ "${1:-}" = --report-only ] && report_only=1
netlab_require search.sh

fail() {
    echo "search: FAIL: $*" >&2
    dump_logs "$cell_logs"
    exit 1
}

netlab_up search --client-nat cone --device-nat cone --ipv6 dual || fail "lab up failed"
start_server || fail "server did not start"
start_echo dev || fail "echo service did not start"
start_agent dev
wait_online dev2 || fail "device never online"

found=""
for attempt in 1 2 3; do
    "$lab" exec dev2 timeout 20 "$bin/t2u" search --timeout 2 --server "$server_ip" --port "$server_port" \
        >"$cell_logs/search-dev2.out" 2>>"$cell_logs/search-dev2.log" || true
    found="$(grep -m1 "^uuid=$device_uuid,ip=" "$cell_logs/search-dev2.out" || true)"
    [ -n "$found" ] && break
    echo "search: attempt $attempt found nothing" >>"$cell_logs/search-dev2.log"
done
[ "$found" = "uuid=$device_uuid,ip=192.0.2.10" ] || fail "dev2 search printed '$(cat "$cell_logs/search-dev2.out")' (want uuid=$device_uuid,ip=192.0.2.10)"
[ "$(grep -c "^uuid=$device_uuid," "$cell_logs/search-dev2.out")" = 1 ] || fail "dev2 search listed the device more than once: $(cat "$cell_logs/search-dev2.out")"
echo "search: dev2 found $found"

found6=""
for attempt in 1 2 3; do
    "$lab" exec dev2 timeout 20 "$bin/t2u" search --timeout 2 --address ff02::7011 --ipv6-group "" \
        --server "$server_ip" --port "$server_port" >"$cell_logs/search6-dev2.out" 2>>"$cell_logs/search6-dev2.log" || true
    found6="$(grep -m1 "^uuid=$device_uuid,ip=" "$cell_logs/search6-dev2.out" || true)"
    [ -n "$found6" ] && break
    echo "search: IPv6 attempt $attempt found nothing" >>"$cell_logs/search6-dev2.log"
done
[ "$found6" = "uuid=$device_uuid,ip=2001:db8:b::10" ] || fail "dev2 IPv6 search printed '$(cat "$cell_logs/search6-dev2.out")' (want uuid=$device_uuid,ip=2001:db8:b::10)"
echo "search: dev2 found over IPv6 $found6"

"$lab" exec cli timeout 20 "$bin/t2u" search --timeout 1 --server "$server_ip" --port "$server_port" \
    >"$cell_logs/search-cli.out" 2>>"$cell_logs/search-cli.log" || true
if grep -q "uuid=$device_uuid" "$cell_logs/search-cli.out"; then
    fail "cli, behind another NAT, found the device: $(cat "$cell_logs/search-cli.out")"
fi
echo "search: cli (other LAN) found nothing, as it should"

status=0
timeout 45 "$lab" exec dev2 "$bin/t2u" check "$device_uuid" "$echo_port" --server "$server_ip" --port "$server_port" \
    --bytes 2M --settle 2 --timeout 30 >"$cell_logs/check.out" 2>"$cell_logs/check.log" || status=$?
line="$(grep -m1 '^CHECK ' "$cell_logs/check.out" || true)"
echo "search: client on dev2: ${line:-no CHECK line (exit $status)}"
[ "$(check_field "$line" ok)" = 1 ] || fail "the client on the device's LAN did not connect"
path="$(check_field "$line" path)"
if [ "$path" != lan ]; then
    [ "$report_only" = 1 ] && { echo "search: path is $path, not lan (report only)"; exit 0; }
    fail "the client on the device's LAN used path $path (want lan)"
fi
echo "search: the client on the device's LAN uses the LAN path"
