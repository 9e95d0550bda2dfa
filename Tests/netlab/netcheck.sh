#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the t2u authors
# `t2u netcheck` in the NAT lab: what it says behind each kind of router. Each cell in a fresh lab:
#   symmetric: cli behind a symmetric NAT (masquerade fully-random): mapping endpoint-dependent,
#              the verdict says "symmetric", no port mapping on that LAN.
#   cone:      cli behind a cone NAT (masquerade): mapping endpoint-independent, filtering
#              address-and-port-dependent (an answer from the server's other port is dropped).
#   fullcone:  cli behind a full-cone NAT: mapping endpoint-independent, filtering
#              endpoint-independent or address-dependent (the other port's answer gets in).
#   upnp:      dev behind a symmetric NAT running miniupnpd (lab.sh up --device-upnp): UPnP-IGD
#              and PCP answer, and the test mapping is gone from the router afterwards.
#              Skipped (said so) when miniupnpd is missing.
#   relayed:   symmetric client x symmetric device, no port mapping: `t2u check --json` ends on
#              the relay and its relay_reason says both sides are symmetric (PathInfo.relayReason).
# Every netcheck cell: UDP reachable, a latency measured, the run under 5 s. Exit 1 naming the failures
# (with the cell's output). Root only; T2U_LAB=<prefix> names the labs.
#
#   netcheck.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

case "${1:-}" in
    -h|--help) sed -n '4,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    "") ;;
    *) echo "netcheck.sh: unknown option $1" >&2; exit 2 ;;
esac
netlab_require netcheck.sh

failures=()
declare -A summary

# field JSON EXPRESSION: a value of netcheck's JSON report (python3 expression over `r`).
field() {
    python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}

# run_netcheck CELL HOST: netcheck from HOST (text and JSON); checks what every cell must show.
run_netcheck() {
    local cell="$1" host="$2" started status=0
    started=$(date +%s%N)
    "$lab" exec "$host" timeout 20 "$bin/t2u" netcheck --server "$server_ip" --port "$server_port" --json \
        >"$cell_logs/netcheck.json" 2>"$cell_logs/netcheck.log" || status=$?
    local millis=$(( ($(date +%s%N) - started) / 1000000 ))
    "$lab" exec "$host" timeout 20 "$bin/t2u" netcheck --server "$server_ip" --port "$server_port" \
        >"$cell_logs/netcheck.txt" 2>>"$cell_logs/netcheck.log" || true
    echo "netcheck: $cell ($host): exit $status in $millis ms" >&2
    sed 's/^/    /' "$cell_logs/netcheck.txt" >&2
    [ "$status" = 0 ] || failures+=("$cell: exit $status")
    [ "$(field "$cell_logs/netcheck.json" 'r["udp"]')" = True ] || failures+=("$cell: UDP not reachable")
    [ "$(field "$cell_logs/netcheck.json" 'r["servers"][0]["latencyMillis"] is not None')" = True ] || failures+=("$cell: no latency")
    [ "$(field "$cell_logs/netcheck.json" 'r["behindNAT"]')" = True ] || failures+=("$cell: no NAT seen")
    [ "$millis" -lt 5000 ] || failures+=("$cell: took $millis ms (want < 5000)")
    summary[$cell]="$(field "$cell_logs/netcheck.json" 'r["mapping"] + " mapping, " + r["filtering"] + " filtering, port mapping: " + (", ".join(r["portMappingProtocols"]) or "none")')"
}

cell_symmetric() {
    netlab_up symmetric --client-nat symmetric --device-nat cone || { failures+=("symmetric: lab up failed"); return 1; }
    start_server || { failures+=("symmetric: server did not start"); return 1; }
    run_netcheck symmetric cli
    local json="$cell_logs/netcheck.json"
    [ "$(field "$json" 'r["mapping"]')" = endpoint-dependent ] || failures+=("symmetric: mapping $(field "$json" 'r["mapping"]') (want endpoint-dependent)")
    grep -q "symmetric" <<<"$(field "$json" 'r["verdict"]')" || failures+=("symmetric: the verdict does not say symmetric")
    grep -q "^mapping: endpoint-dependent (symmetric)" "$cell_logs/netcheck.txt" || failures+=("symmetric: no 'mapping: endpoint-dependent (symmetric)' line")
    [ "$(field "$json" 'r["portMappingProtocols"]')" = "[]" ] || failures+=("symmetric: port mapping protocols on a LAN without any")
}

cell_cone() {
    netlab_up cone --client-nat cone --device-nat cone || { failures+=("cone: lab up failed"); return 1; }
    start_server || { failures+=("cone: server did not start"); return 1; }
    run_netcheck cone cli
    local json="$cell_logs/netcheck.json"
    [ "$(field "$json" 'r["mapping"]')" = endpoint-independent ] || failures+=("cone: mapping $(field "$json" 'r["mapping"]') (want endpoint-independent)")
    grep -q "endpoint-independent" <<<"$(field "$json" 'r["verdict"]')" || failures+=("cone: the verdict does not say endpoint-independent")
    [ "$(field "$json" 'r["filtering"]')" = address-and-port-dependent ] || failures+=("cone: filtering $(field "$json" 'r["filtering"]') (want address-and-port-dependent)")
    grep -q "port-restricted" <<<"$(field "$json" 'r["verdict"]')" || failures+=("cone: the verdict does not say port-restricted")
}

cell_fullcone() {
    netlab_up fullcone --client-nat fullcone --device-nat cone || { failures+=("fullcone: lab up failed"); return 1; }
    start_server || { failures+=("fullcone: server did not start"); return 1; }
    run_netcheck fullcone cli
    local json="$cell_logs/netcheck.json"
    [ "$(field "$json" 'r["mapping"]')" = endpoint-independent ] || failures+=("fullcone: mapping $(field "$json" 'r["mapping"]') (want endpoint-independent)")
    [ "$(field "$json" 'r["filtering"]')" = "endpoint-independent or address-dependent" ] || failures+=("fullcone: filtering $(field "$json" 'r["filtering"]') (want endpoint-independent or address-dependent)")
    grep -q "^filtering: endpoint-independent or address-dependent" "$cell_logs/netcheck.txt" || failures+=("fullcone: no 'filtering:' line saying so")
}

cell_upnp() {
    netlab_up upnp --client-nat cone --device-nat symmetric --device-upnp || { failures+=("upnp: lab up failed"); return 1; }
    start_server || { failures+=("upnp: server did not start"); return 1; }
    run_netcheck upnp dev
    local json="$cell_logs/netcheck.json" protocols mappings
    protocols="$(field "$json" '",".join(r["portMappingProtocols"])')"
    grep -q "UPnP-IGD" <<<"$protocols" || failures+=("upnp: UPnP-IGD not seen (protocols: ${protocols:-none})")
    grep -q "PCP" <<<"$protocols" || failures+=("upnp: PCP not seen (protocols: ${protocols:-none})")
    [ "$(field "$json" 'r["mapping"]')" = endpoint-dependent ] || failures+=("upnp: mapping $(field "$json" 'r["mapping"]') (want endpoint-dependent)")
    mappings="$("$lab" mappings natb)"
    [ -z "$mappings" ] || failures+=("upnp: the test mapping outlived netcheck: $mappings")
}

cell_relayed() {
    netlab_up relayed --client-nat symmetric --device-nat symmetric || { failures+=("relayed: lab up failed"); return 1; }
    start_server || { failures+=("relayed: server did not start"); return 1; }
    start_echo dev || { failures+=("relayed: echo service did not start"); return 1; }
    agent_args=(--no-port-mapping)
    start_agent dev
    agent_args=()
    wait_online cli || { failures+=("relayed: device never online"); return 1; }
    local json="$cell_logs/check.json" status=0 reason
    # --settle 6: past the client's 5 s discovery window, so the reason is the final one.
    timeout 60 "$lab" exec cli "$bin/t2u" check "$device_uuid" "$echo_port" --server "$server_ip" --port "$server_port" \
        --bytes 64K --settle 6 --timeout 40 --json >"$json" 2>"$cell_logs/check.log" || status=$?
    reason="$(field "$json" 'r.get("relay_reason", "")' 2>/dev/null || true)"
    echo "netcheck: relayed: check exit $status, path $(field "$json" 'r["path"]' 2>/dev/null || echo none), reason: ${reason:-none}" >&2
    [ "$(field "$json" 'r["path"]' 2>/dev/null)" = relay ] || failures+=("relayed: path not relay")
    grep -q "both sides symmetric NAT" <<<"$reason" || failures+=("relayed: relay_reason '${reason:-none}' (want both sides symmetric NAT)")
    summary[relayed]="relay: ${reason:-none}"
}

cells=(symmetric cone fullcone relayed)
if command -v miniupnpd >/dev/null 2>&1; then cells+=(upnp); else echo "netcheck: upnp cell skipped: miniupnpd missing (apt-get install miniupnpd-nftables)"; fi
for cell in "${cells[@]}"; do
    count=${#failures[@]}
    "cell_$cell" || true
    [ ${#failures[@]} = "$count" ] || { dump_logs "$cell_logs"; cat "$cell_logs/netcheck.json" >&2 2>/dev/null || true; }
    netlab_down
done

echo
for cell in "${cells[@]}"; do echo "t2u netcheck $cell: ${summary[$cell]:-FAIL}"; done
if [ ${#failures[@]} -gt 0 ]; then
    echo "netcheck: ${#failures[@]} failure(s):" >&2
    for f in "${failures[@]}"; do echo "  $f" >&2; done
    exit 1
fi
echo "netcheck: as expected"
