#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the t2u authors
# Faults in the NAT lab, each in a fresh lab with a `t2u check --duration` transfer running from
# cli to the echo service on dev (data verified byte-exact throughout):
#   flush     conntrack -F on both NATs mid-transfer (cone x cone): the stream survives
#   rebind    client NAT "reboots" mid-transfer, every mapping moves to a new port
#             (cone x fullcone): the session rebinds, the stream survives
#   server    t2u-server restarted mid-transfer (cone x cone, direct): the stream survives and
#             the agent re-registers (t2u query sees it online again)
#   relay     the same restart under symmetric x symmetric, where the tunnel is relayed by that
#             server: the relay session is resumed (RELAY_UNKNOWN, CONNECT resume) and the
#             stream survives (--reconnect only so that a break is counted, not fatal)
#   agent     t2usvr killed (SIGKILL) mid-transfer, restarted later: the client reports -3
#             within 3 s of the kill (unanswered probes on the direct path, then on the relay),
#             the server expires the agent within keepalive + 3 s, -4 follows within 5 s of
#             that, then connected again, and a new connection works. Prints the three times.
#   pathloss  the direct path (cone x cone) blackholed mid-transfer on router A, then opened
#             again: the same connection falls back to the relay within 2 s, the stream
#             byte-exact throughout (breaks=0), and returns to direct within 2 s once the path
#             is open again. Prints both times.
#   offline   device offline when the client starts: -4, then connected once t2usvr starts
# Exit 1 naming the failed faults (with their logs). Root only.
#
#   faults.sh [--only LIST]    LIST: comma-separated fault names (default: all)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

all=(flush rebind server relay agent pathloss offline)
selected=("${all[@]}")
while [ $# -gt 0 ]; do
    case "$1" in
        --only) IFS=, read -r -a selected <<<"$2"; shift 2 ;;
        -h|--help) sed -n '4,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "faults.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
netlab_require faults.sh
# Agents keep alive every 5 s here, so a restarted server hears from them soon.
server_config="$logs/server.conf"
printf 'keepalive=5\n' >"$server_config"
server_args=(--config "$server_config")

declare -A summary

# Milliseconds since the epoch.
now_ms() { date +%s%3N; }

# ms_until LOG PATTERN T0 SECONDS [FROM_LINE]: polls LOG (lines after FROM_LINE) every 20 ms until
# PATTERN appears, then prints the milliseconds since T0 (an upper bound: polling adds <= 20 ms).
# Returns 1 after SECONDS.
ms_until() {
    local log="$1" pattern="$2" t0="$3" limit=$(($(now_ms) + $4 * 1000)) from="${5:-0}"
    while [ "$(now_ms)" -lt "$limit" ]; do
        # Not `tail | grep -q`: under pipefail grep's early exit (SIGPIPE to tail) reads as "absent".
        if grep -q "$pattern" <(tail -n "+$((from + 1))" "$log" 2>/dev/null); then
            echo $(($(now_ms) - t0))
            return 0
        fi
        sleep 0.02
    done
    return 1
}

# Waits (bounded) until the check has reported the link up with a path.
wait_path() {
    wait_for_log "$cell_logs/check.log" "path " 150
}

setup() {
    local name="$1" client_nat="$2" device_nat="$3" agent="${4:-yes}"
    netlab_up "$name" --client-nat "$client_nat" --device-nat "$device_nat" || return 1
    start_server || return 1
    start_echo dev || return 1
    if [ "$agent" = yes ]; then
        start_agent dev
        wait_online cli || return 1
    fi
}

fault_flush() {
    setup flush cone cone || return 1
    check_begin 6
    wait_path || return 1
    sleep 2
    "$lab" flush nata
    "$lab" flush natb
    echo "flushed both NATs" >>"$cell_logs/fault.log"
    check_end
    [ "$(check_field "$line" ok)" = 1 ] && [ "$(check_field "$line" breaks)" = 0 ]
}

fault_rebind() {
    setup rebind cone fullcone || return 1
    check_begin 8
    wait_path || return 1
    sleep 2
    "$lab" rebind nata >>"$cell_logs/fault.log"
    sleep 2
    # The client's flows now leave nata from the new port range: the session did move.
    "$lab" exec nata conntrack -L -p udp >"$cell_logs/conntrack-nata.log" 2>&1 || true
    local moved=0
    grep -q "src=203.0.113.2 dst=203.0.113.1 sport=[0-9]* dport=2[0-9][0-9][0-9][0-9] " "$cell_logs/conntrack-nata.log" && moved=1
    summary[rebind]="client mapping moved to 20000-29999: $moved"
    check_end
    [ "$moved" = 1 ] && [ "$(check_field "$line" ok)" = 1 ] && [ "$(check_field "$line" breaks)" = 0 ]
}

fault_server() {
    setup server cone cone || return 1
    check_begin 10
    wait_path || return 1
    sleep 2
    stop_pid "$server_pid"
    echo "server stopped" >>"$cell_logs/server.log"
    sleep 1
    start_server || return 1
    local restarted=$SECONDS
    check_end
    local online=0
    # The agent re-registers within a keepalive period or two (5 s here).
    for _ in $(seq 1 6); do
        if "$lab" exec cli timeout 10 "$bin/t2u" query "$device_uuid" --server "$server_ip" --port "$server_port" --wait 3 \
            >>"$cell_logs/query.log" 2>&1; then
            online=1
            break
        fi
        sleep 2
    done
    echo "re-registered: $online after $((SECONDS - restarted)) s" >>"$cell_logs/fault.log"
    summary[server]="re-registered=$online"
    [ "$(check_field "$line" ok)" = 1 ] && [ "$(check_field "$line" breaks)" = 0 ] && [ "$online" = 1 ]
}

fault_relay() {
    setup relay symmetric symmetric || return 1
    check_begin 15 --reconnect
    wait_path || return 1
    sleep 2
    stop_pid "$server_pid"
    sleep 1
    start_server || return 1
    check_end
    summary[relay]="breaks=$(check_field "$line" breaks)"
    [ "$(check_field "$line" ok)" = 1 ] && [ "$(check_field "$line" breaks)" = 0 ]
}

fault_agent() {
    setup agent cone cone || return 1
    check_begin 100 --reconnect
    wait_path || return 1
    sleep 2
    local killed_ms
    killed_ms=$(now_ms)
    kill -KILL "$agent_pid"
    wait "$agent_pid" 2>/dev/null || true
    local killed=$SECONDS back=0 to3="" offline_ms="" to4=""
    to3="$(ms_until "$cell_logs/check.log" "status -3" "$killed_ms" 30)" || to3=""
    # When the server says offline (t2u query exits non-zero), polled from the client's host
    # for up to 100 s.
    while [ $(($(now_ms) - killed_ms)) -lt 100000 ]; do
        if ! "$lab" exec cli timeout 5 "$bin/t2u" query "$device_uuid" --server "$server_ip" --port "$server_port" --wait 1 \
            >>"$cell_logs/query.log" 2>&1; then
            offline_ms=$(($(now_ms) - killed_ms))
            break
        fi
        sleep 0.2
    done
    to4="$(ms_until "$cell_logs/check.log" "status -4" "$killed_ms" 60)" || to4=""
    local after_offline="?"
    [ -n "$offline_ms" ] && [ -n "$to4" ] && after_offline=$((to4 - offline_ms))
    echo "kill -> -3: ${to3:-never} ms; kill -> server offline: ${offline_ms:-never} ms; -> -4: ${to4:-never} ms (${after_offline} ms after the server)" \
        >>"$cell_logs/fault.log"
    start_agent dev
    # Connected again (a second "status 1"), then 2 s of data through a new connection.
    for _ in $(seq 1 120); do
        if [ "$(grep -c "status 1 " "$cell_logs/check.log")" -ge 2 ]; then back=1; break; fi
        sleep 0.5
    done
    echo "connected again: $back after $((SECONDS - killed)) s" >>"$cell_logs/fault.log"
    sleep 2
    kill -TERM "$check_pid" 2>/dev/null || true
    check_end
    summary[agent]="kill->-3 ${to3:-never} ms (target 3000), kill->server-offline ${offline_ms:-never} ms, kill->-4 ${to4:-never} ms (${after_offline} ms after the server; target 5000), back=$back"
    echo "FIGURE liveness dead_device_to_minus3_ms=${to3:-never} server_offline_ms=${offline_ms:-never} minus4_after_server_ms=${after_offline}"
    local statuses
    statuses="$(check_field "$line" statuses)"
    # Targets: -3 within 3 s of the death; the server expires the agent within keepalive (5 s
    # here) + 3 s (+ polling); -4 within 5 s of that.
    [ -n "$to3" ] && [ "$to3" -le 3000 ] && [ -n "$offline_ms" ] && [ "$offline_ms" -le 9000 ] \
        && [ "$after_offline" != "?" ] && [ "$after_offline" -le 5000 ] && [ "$back" = 1 ] && [ "$(check_field "$line" ok)" = 1 ] \
        && [[ "$statuses" =~ -[34]@[0-9]+,(0@[0-9]+,)?1@ ]]
}

# Drops (or lets through again) every datagram between the two NATs' WANs on router A: the
# direct path dies, the relay (via the server on 203.0.113.10) stays.
direct_path() {
    if [ "$1" = block ]; then
        "$lab" exec nata nft add table ip lab_block &&
            "$lab" exec nata nft add chain ip lab_block blackhole "{ type filter hook forward priority -10; policy accept; }" &&
            "$lab" exec nata nft add rule ip lab_block blackhole ip saddr 203.0.113.2 drop &&
            "$lab" exec nata nft add rule ip lab_block blackhole ip daddr 203.0.113.2 drop
    else
        "$lab" exec nata nft delete table ip lab_block
    fi
}

fault_pathloss() {
    setup pathloss cone cone || return 1
    check_begin 20
    wait_for_log "$cell_logs/check.log" "path direct" 150 || return 1
    sleep 2
    local from blocked_ms to_relay="" to_direct=""
    from=$(wc -l <"$cell_logs/check.log")
    blocked_ms=$(now_ms)
    direct_path block || return 1
    to_relay="$(ms_until "$cell_logs/check.log" "path relay" "$blocked_ms" 10 "$from")" || to_relay=""
    sleep 3
    from=$(wc -l <"$cell_logs/check.log")
    local opened_ms
    opened_ms=$(now_ms)
    direct_path open || return 1
    to_direct="$(ms_until "$cell_logs/check.log" "path direct" "$opened_ms" 10 "$from")" || to_direct=""
    echo "blackholed -> relay: ${to_relay:-never} ms; opened -> direct: ${to_direct:-never} ms" >>"$cell_logs/fault.log"
    check_end
    summary[pathloss]="direct dead->relay ${to_relay:-never} ms (target 2000), back->direct ${to_direct:-never} ms (target 2000), breaks=$(check_field "$line" breaks)"
    echo "FIGURE liveness direct_dead_to_relay_ms=${to_relay:-never} direct_back_ms=${to_direct:-never} breaks=$(check_field "$line" breaks)"
    # Both within 2 s (a round of probes that ran out while sending once ended the probing,
    # so the link stayed relayed: PathFailoverSimTests.probingTheFailedPathOutlives...).
    [ -n "$to_relay" ] && [ "$to_relay" -le 2000 ] && [ -n "$to_direct" ] && [ "$to_direct" -le 2000 ] \
        && [ "$(check_field "$line" ok)" = 1 ] && [ "$(check_field "$line" breaks)" = 0 ]
}

fault_offline() {
    setup offline cone cone no || return 1
    check_begin 6 --reconnect
    wait_for_log "$cell_logs/check.log" "status -4" 100 || return 1
    start_agent dev
    check_end
    local statuses
    statuses="$(check_field "$line" statuses)"
    [ "$(check_field "$line" ok)" = 1 ] && [[ "$statuses" =~ -4@ ]] && [[ "$statuses" =~ ,1@ ]]
}

run_cases faults fault fault_ "${selected[@]}"
