#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the t2u authors
# Port mapping (PCP / NAT-PMP / UPnP-IGD) in the NAT lab: client and device both behind symmetric
# NATs, the device's router running miniupnpd (lab.sh up --device-upnp). Two cells, each in a
# fresh lab:
#   mapped:   t2usvr as shipped (port mapping on): the agent logs the mapping it was granted, the
#             router forwards a port to it, `t2u check` ends on a direct path; after the agent
#             exits the router's mapping is gone.
#   unmapped: t2usvr --no-port-mapping on the same topology: relayed (what the mapping changes).
# Exit 1 naming the failures (their logs printed). Root only.
#
#   portmap.sh [--bytes N] [--report-only]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

bytes=1M
report_only=0
while [ $# -gt 0 ]; do
    case "$1" in
        --bytes) bytes="$2"; shift 2 ;;
        --report-only) report_only=1; shift ;;
        -h|--help) sed -n '4,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "portmap.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
netlab_require portmap.sh
command -v miniupnpd >/dev/null || { echo "portmap.sh: miniupnpd is missing (apt-get install miniupnpd-nftables)" >&2; exit 2; }

failures=()
declare -A path

# run_cell NAME [t2usvr options...]: sets path[NAME]; appends to failures on errors.
run_cell() {
    local name="$1" line status=0; shift
    agent_args=("$@")
    if ! netlab_up "$name" --client-nat symmetric --device-nat symmetric --device-upnp; then
        failures+=("$name: lab up failed"); dump_logs "$cell_logs"; return 1
    fi
    start_server || { failures+=("$name: server did not start"); return 1; }
    start_echo dev || { failures+=("$name: echo service did not start"); return 1; }
    start_agent dev
    if [ "$name" = mapped ]; then
        wait_for_log "$cell_logs/agent-dev.log" "port mapping granted" 150 || failures+=("mapped: the agent logged no port mapping")
    fi
    wait_online cli || { failures+=("$name: device never online"); dump_logs "$cell_logs"; return 1; }
    timeout 45 "$lab" exec cli "$bin/t2u" check "$device_uuid" "$echo_port" \
        --server "$server_ip" --port "$server_port" --bytes "$bytes" --settle 2 --await-direct 8 \
        --timeout 30 --seed "$lab_counter" >"$cell_logs/check.out" 2>"$cell_logs/check.log" || status=$?
    line="$(grep -m1 '^CHECK ' "$cell_logs/check.out" || true)"
    path[$name]="$(check_field "$line" path)"
    echo "portmap: $name: ${line:-no CHECK line (exit $status)}" >&2
    [ "$(check_field "$line" ok)" = 1 ] || failures+=("$name: not connected/verified")
    local granted mappings
    granted="$(grep -m1 'port mapping granted' "$cell_logs/agent-dev.log" || true)"
    mappings="$("$lab" mappings natb)"
    echo "portmap: $name: agent: ${granted:-no mapping}; router forwards: ${mappings:-nothing}" >&2
    if [ "$name" = mapped ]; then
        grep -q "to 192.0.2.10:" <<<"$mappings" || failures+=("mapped: the router forwards no port to the device")
        stop_pid "$agent_pid"
        agent_pid=""
        mappings="$("$lab" mappings natb)"
        echo "portmap: mapped: after the agent exited the router forwards: ${mappings:-nothing}" >&2
        [ -z "$mappings" ] || failures+=("mapped: the mapping outlived the agent: $mappings")
    else
        [ -z "$mappings" ] || failures+=("unmapped: --no-port-mapping still mapped: $mappings")
    fi
    if [ "$report_only" = 0 ]; then
        case "$name" in
            mapped) [ "${path[$name]}" = direct ] || failures+=("mapped: path ${path[$name]:-none} (want direct)") ;;
            unmapped) [ "${path[$name]}" = relay ] || failures+=("unmapped: path ${path[$name]:-none} (want relay: symmetric x symmetric without a mapping)") ;;
        esac
    fi
}

for cell in mapped unmapped; do
    count=${#failures[@]}
    if [ "$cell" = mapped ]; then run_cell mapped || true; else run_cell unmapped --no-port-mapping || true; fi
    [ ${#failures[@]} = "$count" ] || dump_logs "$cell_logs"
    netlab_down
done

echo
echo "t2u port mapping (symmetric client x symmetric device + miniupnpd): mapped ${path[mapped]:-FAIL}, --no-port-mapping ${path[unmapped]:-FAIL}"
if [ ${#failures[@]} -gt 0 ]; then
    echo "portmap: ${#failures[@]} failure(s):" >&2
    for f in "${failures[@]}"; do echo "  $f" >&2; done
    exit 1
fi
echo "portmap: as expected"
