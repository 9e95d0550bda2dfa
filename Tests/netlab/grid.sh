#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the t2u authors
# The traversal grid: every pair of NAT types {none, fullcone, cone, symmetric} for client x
# device, plus a client on the device's own LAN. Per cell: a fresh lab (NATs verified by
# natprobe), t2u-server in inet, t2usvr and an echo service on dev, then `t2u check` on the client
# host (cli; dev2 for the same-LAN cell) moving seeded data byte-exact through the mapped port.
# A cell that should go direct may upgrade up to 8 s after its transfer (--await-direct).
# Then the networks beyond the NAT type, as cells of their own: UDP blocked on the client's or
# the device's network (router drops all UDP; the server also listens on TCP/TLS 443), a
# symmetric router granting the device a UPnP/PCP mapping (miniupnpd; skipped, said so, when
# missing), IPv6 only (agents given the server's IPv6 address) and dual stack behind symmetric
# IPv4 NATs (stateful IPv6 firewalls on both routers), and routers whose conntrack clashes (they
# keep an early datagram from the peer and move their host's answer to another port) at the
# client, at the device, or at both.
# Prints the tables (path, time to first byte, time to final path) and asserts the issue's goals:
# every cell connects; the same-LAN cell uses the LAN path; every cell but symmetric x symmetric
# goes direct, except where UDP is blocked: relayed through the TCP/TLS fallback (its log says
# so; the Mbit/s are printed); IPv6 only goes direct over IPv6; one clashing router goes direct
# once the order of punching favours it (a relayed link's next looks, 45 s apart: up to 120 s after
# the transfer), both clashing stay relayed. Exit 1 naming the failing cells
# (their logs printed). Root only.
#
#   grid.sh [--cells LIST] [--bytes N] [--report-only] [--lab-args "ARGS"]
#     LIST: comma-separated cells (default: all 26): CLIENT:DEVICE NAT pairs, "lan", and the
#     variants udpblocked:cone, cone:udpblocked, symmetric:symmetric+upnp, cone:cone/v6only,
#     symmetric:symmetric/v6dual, cone:cone/clash-client, cone:cone/clash-device, cone:cone/clash-both,
#     cone:symmetric/clash-client (the cone side's router clashes); on request only:
#     symmetric:cone/clash-device (direct on 4 of 9 attempts here, cause of the misses not found)
#     --report-only: print the table, assert only that every cell connected
#     --lab-args: more `lab.sh up` options for every cell, e.g. "--clash" or "--loss 2"
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

types=(none fullcone cone symmetric)
cells=()
for c in "${types[@]}"; do for d in "${types[@]}"; do cells+=("$c:$d"); done; done
cells+=(lan)
variants=(udpblocked:cone cone:udpblocked symmetric:symmetric+upnp cone:cone/v6only symmetric:symmetric/v6dual
          cone:cone/clash-client cone:cone/clash-device cone:cone/clash-both cone:symmetric/clash-client)
# T2U_GRID_VARIANTS=0: the NAT cells only; =clash: and the clashing-router cells (the C agent's
# grid: it has neither TLS nor UPnP).
if [ "${T2U_GRID_VARIANTS:-1}" = 0 ]; then
    :
elif [ "${T2U_GRID_VARIANTS:-1}" = clash ]; then
    cells+=(cone:cone/clash-client cone:cone/clash-device cone:cone/clash-both cone:symmetric/clash-client)
elif command -v miniupnpd >/dev/null 2>&1; then
    cells+=("${variants[@]}")
else
    echo "grid: symmetric:symmetric+upnp skipped: miniupnpd missing (apt-get install miniupnpd-nftables)" >&2
    for v in "${variants[@]}"; do [ "$v" = symmetric:symmetric+upnp ] || cells+=("$v"); done
fi
bytes=4M
report_only=0
cell_timeout=45
lab_args=()
while [ $# -gt 0 ]; do
    case "$1" in
        --cells) IFS=, read -r -a cells <<<"$2"; shift 2 ;;
        --bytes) bytes="$2"; shift 2 ;;
        --report-only) report_only=1; shift ;;
        --lab-args) read -r -a lab_args <<<"$2"; shift 2 ;;
        -h|--help) sed -n '4,25p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "grid.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
netlab_require grid.sh

declare -A result
failures=()
server_ip4="$server_ip"
server_ip6=2001:db8:0:1::10

# parse_cell NAME: the lab for a cell name (CLIENT:DEVICE[/v6only|/v6dual|/clash-SIDE], a side being a NAT
# type, "udpblocked" (cone, its router dropping UDP) or, for the device, TYPE+upnp). Sets
# client_nat, device_nat, cell_lab_args, blocked_router (nata, natb or "") and cell_server.
parse_cell() {
    local client="${1%%:*}" device="${1#*:}" family=""
    case "$device" in */*) family="${device#*/}"; device="${device%%/*}" ;; esac
    cell_lab_args=()
    blocked_router=""
    cell_server="$server_ip4"
    [ "$client" = udpblocked ] && { client=cone; blocked_router=nata; }
    case "$device" in
        udpblocked) device=cone; blocked_router=natb ;;
        *+upnp) device="${device%+upnp}"; cell_lab_args+=(--device-upnp) ;;
    esac
    case "$family" in
        "") ;;
        v6only) cell_lab_args+=(--ipv6 only); cell_server="$server_ip6" ;;
        v6dual) cell_lab_args+=(--ipv6 dual) ;;
        clash-client) cell_lab_args+=(--clash nata) ;;
        clash-device) cell_lab_args+=(--clash natb) ;;
        clash-both) cell_lab_args+=(--clash) ;;
        *) return 1 ;;
    esac
    client_nat="$client"
    device_nat="$device"
}

# run_cell NAME CLIENT_HOST
run_cell() {
    local name="$1" client_host="$2" line status=0
    if [ "$name" = lan ]; then
        client_nat=cone device_nat=cone cell_lab_args=() blocked_router="" cell_server="$server_ip4"
    else
        parse_cell "$name" || { result[$name]="CHECK ok=0 error=\"unknown cell\""; return 1; }
    fi
    server_ip="$cell_server"
    server_args=()
    [ -n "$blocked_router" ] && server_args=(--tcp-port 443)
    if ! netlab_up "$name" --client-nat "$client_nat" --device-nat "$device_nat" "${cell_lab_args[@]}" "${lab_args[@]}"; then
        result[$name]="CHECK ok=0 error=\"lab up failed\""
        return 1
    fi
    if [ -n "$blocked_router" ]; then
        router_udp "$blocked_router" block || { result[$name]="CHECK ok=0 error=\"blocking UDP on $blocked_router failed\""; return 1; }
    fi
    start_server || { result[$name]="CHECK ok=0 error=\"server did not start\""; return 1; }
    start_echo dev || { result[$name]="CHECK ok=0 error=\"echo service did not start\""; return 1; }
    start_agent dev
    # Asked from a side with UDP (a query over the TCP fallback waits out 1.5 s of UDP silence first).
    local query_host="$client_host"
    [ "$blocked_router" = nata ] && query_host=dev
    wait_online "$query_host" || { result[$name]="CHECK ok=0 error=\"device never online\""; return 1; }
    # Cells that should go direct get a few seconds after the transfer for a late upgrade.
    local await_direct=8
    case "$name" in
        symmetric:symmetric|*udpblocked*|*/clash-both) await_direct=0 ;;
        # One clashing router: the first session may stay relayed; the next looks (45 s after its
        # 5 s window, then 45 s after theirs) have the client, then the device, send first.
        */clash-client|*/clash-device) await_direct=120 ;;
    esac
    timeout "$((cell_timeout + await_direct))" "$lab" exec "$client_host" "$bin/t2u" check "$device_uuid" "$echo_port" \
        --server "$server_ip" --port "$server_port" --bytes "$bytes" --settle 2 --await-direct "$await_direct" \
        --timeout 30 --seed "$lab_counter" --log-level notice \
        >"$cell_logs/check.out" 2>"$cell_logs/check.log" || status=$?
    line="$(grep -m1 '^CHECK ' "$cell_logs/check.out" || true)"
    [ -n "$line" ] || line="CHECK ok=0 error=\"no CHECK line (exit $status)\""
    # What the device agent measured of its own NAT (if it logs it), beside what natprobe verified.
    local measured
    measured="$(sed -n 's/.* nat=\([^ ]*\) .*NAT behaviour.*/\1/p' "$cell_logs/agent-dev.log" | tail -n1)"
    result[$name]="$line"
    # Where UDP is blocked: did the blocked side's server traffic go over TCP/TLS?
    case "$blocked_router" in
        nata) grep -q "server traffic now goes over TCP/TLS" "$cell_logs/check.log" && result[$name]+=" over_tcp=client" ;;
        natb) grep -q "server traffic now goes over TCP/TLS" "$cell_logs/agent-dev.log" && result[$name]+=" over_tcp=device" ;;
    esac
    echo "grid: $name: $line${measured:+ (device agent measured its NAT: $measured)}" >&2
}

# Why CELL's result misses the goals ("" when it meets them).
cell_verdict() {
    local cell="$1" ok path expected_direct=1
    ok="$(check_field "${result[$cell]}" ok)"
    path="$(check_field "${result[$cell]}" path)"
    case "$cell" in symmetric:symmetric|*/clash-both) expected_direct=0 ;; esac
    if [ "$ok" != 1 ]; then
        echo "not connected/verified"
    elif [[ "$cell" == *udpblocked* ]]; then
        # UDP blocked: relayed through the TCP/TLS fallback (direct paths are UDP).
        [ "$path" = relay ] || echo "path $path with UDP blocked (want relay over TCP/TLS)"
        [ -n "$(check_field "${result[$cell]}" over_tcp)" ] || echo "the blocked side never moved its server traffic to TCP/TLS"
    elif [ "$report_only" = 0 ] && [[ "$cell" == */v6only ]] && [[ "$(check_field "${result[$cell]}" peer)" != \[2001:db8:* ]]; then
        echo "peer $(check_field "${result[$cell]}" peer) with IPv6 only (want direct over IPv6)"
    elif [ "$report_only" = 0 ] && [ "$cell" = lan ] && [ "$path" != lan ]; then
        echo "path $path on the same LAN (want lan)"
    elif [ "$report_only" = 0 ] && [ "$cell" != lan ] && [ "$expected_direct" = 1 ] && [ "$path" != direct ] && [ "$path" != lan ]; then
        echo "path $path (want direct)"
    fi
}

# Birthday probing (cone x symmetric, either order) is a random search: P(hit) is about 0.9997
# per attempt in the simulation, lower in the lab when probes run ahead of the mappings. Such a
# cell gets one more attempt, in a fresh lab, and the table says so; every other cell gets one.
retried=()
for cell in "${cells[@]}"; do
    attempts=1
    case "$cell" in cone:symmetric|symmetric:cone|cone:symmetric/*|symmetric:cone/*) attempts=2 ;; esac
    for attempt in $(seq 1 "$attempts"); do
        if [ "$cell" = lan ]; then
            run_cell lan dev2 || true
        else
            run_cell "$cell" cli || true
        fi
        why="$(cell_verdict "$cell")"
        if [ -n "$why" ] && [ "$attempt" -lt "$attempts" ]; then
            echo "grid: $cell missed on attempt $attempt ($why); logs, then one more attempt:" >&2
            dump_logs "$cell_logs"
            retried+=("$cell (attempt $attempt: $why)")
            netlab_down
            continue
        fi
        break
    done
    if [ -n "$why" ]; then
        failures+=("$cell: $why")
        echo "grid: $cell FAILED ($why); logs:" >&2
        dump_logs "$cell_logs"
    fi
    netlab_down
done

# Table: rows client NAT, columns device NAT; cell = path ttfb/final-path ms.
cell_text() {
    local line="${result[$1]:-}"
    [ -n "$line" ] || { echo "-"; return; }
    if [ "$(check_field "$line" ok)" != 1 ]; then echo "FAIL"; return; fi
    echo "$(check_field "$line" path) $(check_field "$line" ttfb_ms)/$(check_field "$line" final_path_ms)"
}
echo
echo "t2u traversal grid ($(git -C "$repo_dir" rev-parse --short HEAD 2>/dev/null || echo '?')${lab_args[*]:+, lab ${lab_args[*]}}): path ttfb_ms/final_path_ms; rows client NAT, columns device NAT"
printf '%-12s' "client\\dev"
for d in "${types[@]}"; do printf '%-22s' "$d"; done
echo
for c in "${types[@]}"; do
    printf '%-12s' "$c"
    for d in "${types[@]}"; do printf '%-22s' "$(cell_text "$c:$d")"; done
    echo
done
if [ -n "${result[lan]:-}" ]; then echo "same LAN (dev2 -> dev behind cone): $(cell_text lan)"; fi
for v in "${variants[@]}"; do
    [ -n "${result[$v]:-}" ] || continue
    case "$v" in
        udpblocked:cone) what="UDP blocked at the client (cone x cone)" ;;
        cone:udpblocked) what="UDP blocked at the device (cone x cone)" ;;
        symmetric:symmetric+upnp) what="symmetric x symmetric + UPnP/PCP at the device" ;;
        cone:cone/v6only) what="IPv6 only (cone x cone IPv4 LANs)" ;;
        symmetric:symmetric/v6dual) what="dual stack, symmetric x symmetric IPv4" ;;
        cone:cone/clash-client) what="cone x cone, the client's router clashes" ;;
        cone:cone/clash-device) what="cone x cone, the device's router clashes" ;;
        cone:cone/clash-both) what="cone x cone, both routers clash" ;;
        cone:symmetric/clash-client) what="cone x symmetric, the client's router clashes" ;;
        symmetric:cone/clash-device) what="symmetric x cone, the device's router clashes" ;;
        *) what="$v" ;;
    esac
    extra=""
    [[ "$v" == *udpblocked* ]] && extra=" $(check_field "${result[$v]}" mbps) Mbit/s over TCP/TLS"
    printf '%-48s %s%s\n' "$what:" "$(cell_text "$v")" "$extra"
done
for cell in "${cells[@]}"; do echo "  $cell: ${result[$cell]}"; done

if [ ${#retried[@]} -gt 0 ]; then
    echo "grid: needed a second attempt: ${retried[*]}"
fi
if [ ${#failures[@]} -gt 0 ]; then
    echo "grid: ${#failures[@]} cell(s) failed:" >&2
    for f in "${failures[@]}"; do echo "  $f" >&2; done
    exit 1
fi
echo "grid: all ${#cells[@]} cells as expected"
