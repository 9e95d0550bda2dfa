#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the t2u authors
# IPv6 (issue 13 item 3), each case in a fresh lab (lab.sh --ipv6: 2001:db8::/32 only, no NAT66,
# and on each side a router with a stateful IPv6 firewall that drops new inbound packets, as home
# routers do), with t2u-server bound to 0.0.0.0 and :: (its default) and `t2u check` moving
# seeded data byte-exact from cli to the echo service on dev:
#   only        IPv6-only access (both routers drop all forwarded IPv4): agents and client are
#               given the server's IPv6 address, register over IPv6 and the link goes direct over
#               IPv6 through both firewalls (simultaneous punches open them).
#   dual        dual stack behind cone NATs, agents given the server's IPv4 address (registration
#               over IPv4 stays primary); the global IPv6 candidates are exchanged as well: the
#               link goes direct (over either family; the case says which).
#   symsym      IPv4 NATs symmetric x symmetric (random ports: relay only over IPv4) plus dual
#               stack: the link goes direct over IPv6 through both firewalls.
#   symsym-v4   the same NATs without IPv6: the link stays on the relay (the contrast).
# Each case also reports how many unsolicited inbound IPv6 packets each firewall dropped. Exit 1
# naming the failed cases (with their logs). Root only.
#
#   ipv6.sh [--only LIST] [--bytes N]    LIST: comma-separated case names (default: all)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

all=(only dual symsym symsym-v4)
selected=("${all[@]}")
bytes=2M
while [ $# -gt 0 ]; do
    case "$1" in
        --only) IFS=, read -r -a selected <<<"$2"; shift 2 ;;
        --bytes) bytes="$2"; shift 2 ;;
        -h|--help) sed -n '4,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "ipv6.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
netlab_require ipv6.sh
declare -A summary
server_ip4="$server_ip"
server_ip6=2001:db8:0:1::10

# run_ipv6_case NAME CLIENT_NAT DEVICE_NAT SERVER IPV6_MODE(none|dual|only) AWAIT_DIRECT
run_ipv6_case() {
    local name="$1" client_nat="$2" device_nat="$3" server="$4" mode="$5" await_direct="$6" status=0
    local extra=()
    [ "$mode" = none ] || extra=(--ipv6 "$mode")
    netlab_up "$name" --client-nat "$client_nat" --device-nat "$device_nat" "${extra[@]}" || return 1
    server_ip="$server"
    start_server || return 1
    start_echo dev || return 1
    start_agent dev
    wait_online cli || return 1
    timeout 60 "$lab" exec cli "$bin/t2u" check "$device_uuid" "$echo_port" \
        --server "$server" --port "$server_port" --bytes "$bytes" --settle 2 --await-direct "$await_direct" \
        --timeout 40 --seed "$lab_counter" \
        >"$cell_logs/check.out" 2>"$cell_logs/check.log" || status=$?
    line="$(grep -m1 '^CHECK ' "$cell_logs/check.out" || true)"
    [ -n "$line" ] || line="CHECK ok=0 error=\"no CHECK line (exit $status)\""
    local dropped_a="-" dropped_b="-" seen
    if [ "$mode" != none ]; then
        dropped_a="$("$lab" firewall6 nata || echo '?')"
        dropped_b="$("$lab" firewall6 natb || echo '?')"
    fi
    # Where the server saw the device (its registration's family).
    seen="$(sed -n 's/.*address=\([^ ]*\) uuid=LAB-DEV-1 .*device registered.*/\1/p' "$cell_logs/server.log" | tail -n1)"
    summary[$name]="device registered from ${seen:-?}; firewall drops of new inbound IPv6: nata=$dropped_a natb=$dropped_b"
}

# Verified, and the final path is PATH to a peer of FAMILY (4, 6 or any).
final_path() {
    local want="$1" family="$2" path peer
    path="$(check_field "$line" path)"
    peer="$(check_field "$line" peer)"
    [ "$(check_field "$line" ok)" = 1 ] && [ "$path" = "$want" ] || return 1
    case "$family" in
        6) [[ "$peer" == \[2001:db8:* ]] ;;
        4) [[ "$peer" != \[* ]] ;;
        *) return 0 ;;
    esac
}

registered_over() {
    grep -q "address=$1.* uuid=LAB-DEV-1 .*device registered" "$cell_logs/server.log"
}

case_only() {
    run_ipv6_case only cone cone "$server_ip6" only 8 || return 1
    registered_over '\[2001:db8:b::10\]' && final_path direct 6
}

case_dual() {
    run_ipv6_case dual cone cone "$server_ip4" dual 8 || return 1
    registered_over 203.0.113.2 && final_path direct any
}

case_symsym() {
    run_ipv6_case symsym symmetric symmetric "$server_ip4" dual 8 || return 1
    registered_over 203.0.113.2 && final_path direct 6
}

case_symsym-v4() {
    run_ipv6_case symsym-v4 symmetric symmetric "$server_ip4" none 0 || return 1
    final_path relay any
}

run_cases ipv6.sh ipv6 case_ "${selected[@]}"
