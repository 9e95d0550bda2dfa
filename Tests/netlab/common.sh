# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the t2u authors
# Shared by grid.sh, search.sh, faults.sh and hosts.sh (sourced, not run): binaries, one lab at a time with
# a trap that removes it, and the t2u processes in it. Each helper is started directly (its PID is
# the process itself: lab.sh exec execs ip, which execs the command) and stopped by that PID;
# `lab.sh down` ends whatever is left in the lab's namespaces.

netlab_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_dir="$(cd "$netlab_dir/../.." && pwd)"
lab="$netlab_dir/lab.sh"
server_ip=203.0.113.10
server_port=7000
echo_port=7007
device_uuid=LAB-DEV-1
server_args=()
agent_args=()
# A caller's T2U_LAB is the prefix of every lab made here (parallel runs never collide).
lab_prefix="${T2U_LAB:-t2u-}"

# Release binaries with the flags scripts/test.sh builds with, so nothing rebuilds.
netlab_bin() {
    if [ -n "${T2U_BIN:-}" ]; then echo "$T2U_BIN"; return; fi
    (cd "$repo_dir" && swift build -c release -Xswiftc -enable-testing --show-bin-path)
}

netlab_require() {
    [ "$(id -u)" = 0 ] || { echo "$1: needs root (network namespaces)" >&2; exit 2; }
    for tool in ip nft python3 timeout; do
        command -v "$tool" >/dev/null || { echo "$1: $tool is missing" >&2; exit 2; }
    done
    bin="$(netlab_bin)"
    for exe in t2u t2u-server t2usvr; do
        [ -x "$bin/$exe" ] || { echo "$1: $bin/$exe missing (swift build -c release -Xswiftc -enable-testing)" >&2; exit 2; }
    done
    logs="$(mktemp -d "${TMPDIR:-/tmp}/t2u-netlab.XXXXXX")"
    lab_counter=0
    current_lab=""
    trap 'netlab_cleanup' EXIT
    trap 'exit 130' INT TERM
}

netlab_cleanup() {
    if [ -n "$current_lab" ]; then T2U_LAB="$current_lab" "$lab" down >/dev/null 2>&1 || true; fi
    current_lab=""
    if [ -n "${keep_logs:-}" ]; then echo "logs kept in $logs" >&2; else rm -rf "$logs"; fi
}

# netlab_up NAME lab.sh-up-arguments...: a fresh lab; its log directory is $cell_logs.
netlab_up() {
    local name="$1"; shift
    lab_counter=$((lab_counter + 1))
    export T2U_LAB="${lab_prefix}$$-$lab_counter-"
    current_lab="$T2U_LAB"
    cell_logs="$logs/$name"
    mkdir -p "$cell_logs"
    # Clients pin device keys; each lab's device has a new key under the same UUID, so each gets
    # its own known-devices file (removed with the logs), never the user's.
    export T2U_KNOWN_DEVICES="$cell_logs/known_devices"
    "$lab" up "$@" >"$cell_logs/lab.log" 2>&1
}

netlab_down() {
    [ -n "$current_lab" ] || return 0
    T2U_LAB="$current_lab" "$lab" down >/dev/null 2>&1 || true
    current_lab=""
}

# Waits (bounded) until LOG contains PATTERN.
wait_for_log() {
    local log="$1" pattern="$2" tries="${3:-100}"
    for _ in $(seq 1 "$tries"); do
        grep -q "$pattern" "$log" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

# router_udp ROUTER block|open: ROUTER drops every UDP datagram it forwards (or lets them
# through again), as corporate and hotel networks do: the hosts behind it have TCP only.
router_udp() {
    local router="$1"
    if [ "$2" = block ]; then
        "$lab" exec "$router" nft -f - <<'NFT' || return 1
table ip lab_udpblock {
  chain drop_udp {
    type filter hook forward priority filter - 10; policy accept;
    meta l4proto udp drop
  }
}
NFT
        # Listed into a variable first: `nft list | grep -q` under pipefail fails whenever grep
        # exits before nft has written everything (SIGPIPE), as it once did in CI.
        local listing
        listing="$("$lab" exec "$router" nft list table ip lab_udpblock)" || return 1
        grep -q "meta l4proto udp drop" <<<"$listing" || { echo "the UDP drop rule is missing on $router" >&2; return 1; }
    else
        "$lab" exec "$router" nft delete table ip lab_udpblock
    fi
}

start_server() {
    "$lab" exec inet "$bin/t2u-server" --port "$server_port" "${server_args[@]}" --log-level "${server_log_level:-info}" \
        >>"$cell_logs/server.log" 2>&1 &
    server_pid=$!
    wait_for_log "$cell_logs/server.log" "t2u-server listening" 200 || { echo "server did not start" >>"$cell_logs/server.log"; return 1; }
}

start_echo() {
    local host="${1:-dev}"
    "$lab" exec "$host" "$bin/t2u" check --echo --echo-port "$echo_port" >"$cell_logs/echo-$host.log" 2>&1 &
    echo_pid=$!
    wait_for_log "$cell_logs/echo-$host.log" "echo listening"
}

# The agent's server argument is $agent_servers when set (a failover list), else the lab's server.
start_agent() {
    local host="${1:-dev}"
    # A state file keeps the device key across restarts (clients pin it on first use).
    "$lab" exec "$host" "$bin/t2usvr" "$device_uuid" "${agent_servers:-$server_ip}" "$server_port" --log-level "${agent_log_level:-info}" \
        --state "$cell_logs/agent-$host.key" "${agent_args[@]}" \
        >>"$cell_logs/agent-$host.log" 2>&1 &
    agent_pid=$!
}

# Waits (bounded) until the server reports the device online, asked from HOST.
wait_online() {
    local host="$1"
    for _ in $(seq 1 20); do
        if "$lab" exec "$host" timeout 10 "$bin/t2u" query "$device_uuid" --server "$server_ip" --port "$server_port" --wait 3 \
            >>"$cell_logs/query.log" 2>&1; then
            return 0
        fi
        sleep 0.25
    done
    return 1
}

stop_pid() {
    local pid="$1"
    [ -n "$pid" ] || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

# A `t2u check --duration` transfer from cli to the echo service on dev, in the background (the
# fault and host cases): check_begin SECONDS [extra args...]
check_begin() {
    local seconds="$1"; shift
    "$lab" exec cli timeout $((seconds + 90)) "$bin/t2u" check "$device_uuid" "$echo_port" \
        --server "$server_ip" --port "$server_port" --duration "$seconds" --timeout $((seconds + 80)) "$@" \
        >"$cell_logs/check.out" 2>"$cell_logs/check.log" &
    check_pid=$!
}

# Waits for check_begin's transfer; sets $line to its CHECK line.
check_end() {
    local status=0
    wait "$check_pid" || status=$?
    check_pid=""
    line="$(grep -m1 '^CHECK ' "$cell_logs/check.out" || true)"
    [ -n "$line" ] || line="CHECK ok=0 error=\"no CHECK line (exit $status)\""
}

# Runs each case of a fault/host script in its own lab and says how each behaved; exits 1 naming
# the failed ones (with their logs): run_cases SCRIPT LABEL FUNCTION_PREFIX CASE...
# A case's function may set $line (its CHECK line) and summary[CASE].
run_cases() {
    local script="$1" label="$2" prefix="$3" name started verdict
    shift 3
    local failed=()
    for name in "$@"; do
        line=""
        started=$SECONDS
        check_pid=""
        if "$prefix$name"; then verdict=ok; else verdict=FAILED; fi
        [ -n "$line" ] || line="(no CHECK line)"
        echo "$label $name: $verdict in $((SECONDS - started)) s ${summary[$name]:-}: $line"
        if [ "$verdict" != ok ]; then
            failed+=("$name")
            dump_logs "$cell_logs"
        fi
        [ -z "${check_pid:-}" ] || stop_pid "$check_pid"
        check_pid=""
        netlab_down
    done
    if [ ${#failed[@]} -gt 0 ]; then
        echo "$script: failed: ${failed[*]}" >&2
        exit 1
    fi
    echo "$script: all $# behaved"
}

# Field of a CHECK line: check_field LINE NAME.
check_field() {
    sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"$1" | head -n1
}

dump_logs() {
    local dir="$1" file
    for file in "$dir"/*.log; do
        [ -e "$file" ] || continue
        echo "----- $(basename "$file") (last 60 lines) -----" >&2
        tail -n 60 "$file" >&2
    done
}
