#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the t2u authors
# Hosts as real networks have them (issue 10 item 1), each in a fresh lab with a `t2u check
# --duration` transfer from cli to the echo service on dev (byte-exact throughout):
#   noroute-client  cli is public (client NAT none) and has no default route, only a route to
#                   the internet segment 203.0.113.0/24 (the device's LAN candidate is out of
#                   its reach). The link comes up direct and the data is exact.
#   noroute-device  the same on the device's side (device NAT none, client behind a cone NAT),
#                   its server list starting with 100.64.0.1, which it cannot route to: the
#                   registration's first sends fail with ENETUNREACH and it fails over.
#   multihomed      dev has a second network (100.64.0.10/24 on another interface, a network
#                   nobody else reaches), so it offers a candidate that cannot work: direct anyway.
#   ifgone          cli has two interfaces on its LAN; the one carrying the transfer is deleted
#                   mid-transfer and the default route moves to the other one 0.5 s later (as a
#                   DHCP client would). Sends fail meanwhile (ENETUNREACH, EADDRNOTAVAIL); the
#                   flow leaves the cone NAT from a new address, and the same connection carries
#                   on: no break, data exact.
#   ifgone-relay    the same with the link held on the relay (--relay-only): the server refuses the
#                   relayed packets from the new address (RELAY_UNKNOWN) until the client's sealed
#                   resume proves it, then relays to and from the new address: no break.
# Every cell also asserts that the agents and the client kept talking to the server (the check
# ends with its status connected). Exit 1 naming the failed cases (with their logs). Root only.
#
#   hosts.sh [--only LIST]    LIST: comma-separated case names (default: all)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

all=(noroute-client noroute-device multihomed ifgone ifgone-relay)
selected=("${all[@]}")
while [ $# -gt 0 ]; do
    case "$1" in
        --only) IFS=, read -r -a selected <<<"$2"; shift 2 ;;
        -h|--help) sed -n '4,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "hosts.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
netlab_require hosts.sh
declare -A summary

setup() {
    local name="$1" client_nat="$2" device_nat="$3"
    netlab_up "$name" --client-nat "$client_nat" --device-nat "$device_nat" || return 1
    start_server || return 1
    start_echo dev || return 1
}

# HOST keeps only a route to the internet segment through GATEWAY (no default route).
internet_only() {
    local host="$1" gateway="$2"
    "$lab" exec "$host" ip route del default
    "$lab" exec "$host" ip route add 203.0.113.0/24 via "$gateway"
}

# Passed, the path was PATH (or lan), and the transfer never broke.
verified_on() {
    local want="$1" path
    path="$(check_field "$line" path)"
    [ "$(check_field "$line" ok)" = 1 ] && [ "$(check_field "$line" breaks)" = 0 ] \
        && { [ "$path" = "$want" ] || [ "$path" = lan ]; }
}

# LOG mentions ERRNO as a failed send (the error cost a datagram and was said, once per cause).
send_error_logged() {
    grep -q "UDP send failed.*error=$2\|error=$2.*UDP send failed" "$1"
}

case_noroute-client() {
    setup noroute-client none cone || return 1
    internet_only cli 198.51.100.1
    start_agent dev
    wait_online cli || return 1
    check_begin 4
    check_end
    summary[noroute-client]="send errors logged: $(grep -c "UDP send failed" "$cell_logs/check.log" || true)"
    verified_on direct
}

case_noroute-device() {
    setup noroute-device cone none || return 1
    internet_only dev 192.0.2.1
    agent_servers="100.64.0.1:$server_port,$server_ip:$server_port" start_agent dev
    wait_online cli || return 1
    check_begin 4
    check_end
    local said=0
    send_error_logged "$cell_logs/agent-dev.log" ENETUNREACH && said=1
    summary[noroute-device]="ENETUNREACH logged=$said"
    [ "$said" = 1 ] && verified_on direct
}

case_multihomed() {
    setup multihomed cone cone || return 1
    # A veth pair inside dev (no dummy module here): side0 holds the address, side1 is its idle peer.
    "$lab" exec dev ip link add side0 type veth peer name side1
    "$lab" exec dev ip addr add 100.64.0.10/24 dev side0
    "$lab" exec dev ip link set side1 up
    "$lab" exec dev ip link set side0 up
    "$lab" exec dev ip -br addr show side0 >>"$cell_logs/fault.log"
    start_agent dev
    wait_online cli || return 1
    check_begin 4
    check_end
    summary[multihomed]="path=$(check_field "$line" path)"
    verified_on direct
}

# ifgone_case NAME PATH [check args...]: the transfer on PATH when cli's interface goes away.
ifgone_case() {
    local name="$1" path="$2"; shift 2
    setup "$name" cone cone || return 1
    # A second leg on cli's LAN bridge (the router's side of it is named like lab.sh's ports).
    ip link add eth1 netns "${T2U_LAB}cli" type veth peer name p-cli1 netns "${T2U_LAB}nata"
    "$lab" exec nata ip link set p-cli1 master lan up
    "$lab" exec cli ip addr add 198.51.100.11/24 dev eth1
    "$lab" exec cli ip link set eth1 up
    start_agent dev
    wait_online cli || return 1
    check_begin 12 "$@"
    wait_for_log "$cell_logs/check.log" "path $path" 150 || return 1
    sleep 2
    "$lab" exec cli ip link del eth0
    echo "eth0 deleted at $(date +%T.%N)" >>"$cell_logs/fault.log"
    sleep 0.5
    "$lab" exec cli ip route add default via 198.51.100.1 dev eth1
    echo "default route via eth1 at $(date +%T.%N)" >>"$cell_logs/fault.log"
    check_end
    # The NAT now maps the flow from the new address: the move really happened.
    local moved=0
    "$lab" exec nata conntrack -L -p udp >"$cell_logs/conntrack-nata.log" 2>&1 || true
    grep -q "src=198.51.100.11 " "$cell_logs/conntrack-nata.log" && moved=1
    summary[$name]="flow moved to 198.51.100.11: $moved, breaks=$(check_field "$line" breaks)"
    [ "$moved" = 1 ] && [ "$(check_field "$line" ok)" = 1 ] && [ "$(check_field "$line" breaks)" = 0 ]
}

case_ifgone() { ifgone_case ifgone direct; }

case_ifgone-relay() {
    ifgone_case ifgone-relay relay --relay-only || return 1
    # The server saw the client's packets from its new address before the resume proved it.
    grep -q "reason=relayStranger" "$cell_logs/server.log"
}

run_cases hosts host case_ "${selected[@]}"
