#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the t2u authors
# UDP blocked on the client's network (as on corporate, hotel and some mobile networks): router
# A drops every UDP datagram it forwards (nftables), TCP passes. t2u-server listens on TCP/TLS
# 443 (--tcp-port 443) as well as UDP; t2usvr behind router B has UDP. Each case in a fresh lab
# (cone x cone), with a `t2u check --duration` transfer from cli to the echo service on dev:
#   blocked   UDP dropped throughout: the client registers over TCP/TLS, `t2u query` and the
#             mapped port work, the link is relayed over TCP, data byte-exact; the throughput is
#             printed (FIGURE udpblocked ...)
#   unblock   UDP dropped at the start, let through again mid-transfer: the client leaves TCP
#             for UDP (its log says so), is introduced to the device again with its UDP address,
#             and the link moves from the relay to a direct path inside the same connection; the
#             transfer stays byte-exact, without a break
# Exit 1 naming the failed cases (with their logs). Root only.
#
#   udpblocked.sh [--only LIST]    LIST: comma-separated case names (default: all)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

all=(blocked unblock)
selected=("${all[@]}")
while [ $# -gt 0 ]; do
    case "$1" in
        --only) IFS=, read -r -a selected <<<"$2"; shift 2 ;;
        -h|--help) sed -n '4,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "udpblocked.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
netlab_require udpblocked.sh
server_args=(--tcp-port 443)

declare -A summary

# The client has TCP only: router A drops every UDP datagram it forwards (common.sh).
client_udp() { router_udp nata "$1"; }

setup() {
    local name="$1"
    netlab_up "$name" --client-nat cone --device-nat cone || { echo "udpblocked: $name: lab up failed" >&2; return 1; }
    client_udp block || { echo "udpblocked: $name: blocking UDP on nata failed" >&2; return 1; }
    start_server || { echo "udpblocked: $name: server did not start" >&2; return 1; }
    start_echo dev || return 1
    start_agent dev
    # Asked from the device's side, which has UDP.
    wait_online dev || return 1
}

case_blocked() {
    setup blocked || return 1
    # The query from behind the UDP block goes over TCP/TLS after the UDP silence (1.5 s).
    local queried=0
    "$lab" exec cli timeout 20 "$bin/t2u" query "$device_uuid" --server "$server_ip" --port "$server_port" --wait 10 \
        >>"$cell_logs/query-cli.log" 2>&1 && queried=1
    check_begin 10 --log-level notice
    check_end
    local on_tcp=0
    grep -q "server traffic now goes over TCP/TLS" "$cell_logs/check.log" && on_tcp=1
    summary[blocked]="query over TCP=$queried, client on TCP=$on_tcp"
    echo "FIGURE udpblocked relay_over_tcp_mbps=$(check_field "$line" mbps) path=$(check_field "$line" path) connect_ms=$(check_field "$line" connect_ms) ttfb_ms=$(check_field "$line" ttfb_ms)"
    [ "$queried" = 1 ] && [ "$on_tcp" = 1 ] && [ "$(check_field "$line" ok)" = 1 ] \
        && [ "$(check_field "$line" path)" = relay ] && [ "$(check_field "$line" breaks)" = 0 ]
}

case_unblock() {
    setup unblock || return 1
    check_begin 20 --log-level notice
    wait_for_log "$cell_logs/check.log" "server traffic now goes over TCP/TLS" 150 || return 1
    wait_for_log "$cell_logs/check.log" "path " 150 || return 1
    sleep 3
    client_udp open || return 1
    local back=0
    # The client probes UDP every 5 s while on TCP.
    wait_for_log "$cell_logs/check.log" "UDP to the server answers again" 120 && back=1
    check_end
    local paths
    paths="$(check_field "$line" paths)"
    local final
    final="$(check_field "$line" path)"
    summary[unblock]="back to UDP=$back, paths=$paths, final path=$final"
    [ "$back" = 1 ] && [ "$(check_field "$line" ok)" = 1 ] && [ "$(check_field "$line" breaks)" = 0 ] && [ "$final" = direct ]
}

run_cases udpblocked case case_ "${selected[@]}"
