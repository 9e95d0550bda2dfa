#!/usr/bin/env bash
# Lab benchmark (root): raw TCP, kcptun and t2u side by side through the same NAT path of the
# namespace lab (Tests/netlab/lab.sh), at 0/1/5% loss and on a 100 Mbit/s shaped link.
#
#   Benchmarks/lab-bench.sh [--seconds S] [--conditions "loss0 loss1 loss5 rate100"]
#
# Path: client host behind NAT A (Linux masquerade, "cone"), device host behind router B (routed,
# "none"), so raw TCP and kcptun reach the device without port forwarding and t2u goes direct
# through the same routers and links. Loss (nftables numgen, both directions) and rate (tbf) sit
# on router A's WAN and hit all three alike. Every figure is iperf3's receiver goodput, client to
# device, one TCP stream:
#   tcp     iperf3 straight to the device (192.0.2.10:5201)
#   kcptun  iperf3 through kcptun-client -> kcptun-server (--mode fast3 --nocomp --crypt none,
#           windows 1024), as NETLAB-NOTES measured it
#   t2u     iperf3 through `t2u forward` (the device's t2usvr opens 127.0.0.1:5201)
# The lab has ~0.1 ms RTT (no netem here): TCP's loss recovery is flattered by that.
# Prints a table and one `RESULT lab cond=... t2u_mbps=... tcp_mbps=... kcptun_mbps=...` line
# per condition. Bounded: every tool runs under `timeout`; the lab is removed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=8
conditions="loss0 loss1 loss5 rate100"
while [ $# -gt 0 ]; do
    case "$1" in
        --seconds) seconds="$2"; shift 2 ;;
        --conditions) conditions="$2"; shift 2 ;;
        -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "lab-bench: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done
[ "$(id -u)" = 0 ] || { echo "lab-bench: needs root (network namespaces)" >&2; exit 1; }
for tool in iperf3 kcptun-client kcptun-server nft ip ethtool python3; do
    command -v "$tool" >/dev/null || { echo "lab-bench: $tool missing (apt-get install iperf3 kcptun nftables iproute2 ethtool python3)" >&2; exit 1; }
done

swift build -c release >/dev/null
bin="$(swift build -c release --show-bin-path)"
lab=Tests/netlab/lab.sh
work="$(mktemp -d "${TMPDIR:-/tmp}/t2u-labbench.XXXXXX")"
export T2U_LAB="t2u-bench-$$-"
lab_is_up=0
cleanup() {
    if [ "$lab_is_up" = 1 ]; then "$lab" down || true; fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# iperf3 receiver goodput in Mbit/s from HOST to TARGET:PORT, or "fail".
iperf() {
    local host="$1" target="$2" port="$3" out="$work/iperf.json"
    if timeout $((seconds + 20)) "$lab" exec "$host" iperf3 -c "$target" -p "$port" -t "$seconds" -J >"$out" 2>&1; then
        python3 -c 'import json,sys; print("%.1f" % (json.load(open(sys.argv[1]))["end"]["sum_received"]["bits_per_second"]/1e6))' "$out" 2>/dev/null || echo fail
    else
        echo fail
    fi
}

# Waits (bounded) until a short iperf3 run through HOST's local PORT succeeds.
wait_port() {
    local host="$1" port="$2"
    for _ in $(seq 1 30); do
        if timeout 5 "$lab" exec "$host" iperf3 -c 127.0.0.1 -p "$port" -t 1 >/dev/null 2>&1; then return 0; fi
        sleep 0.5
    done
    return 1
}

kcp_flags=(--mode fast3 --nocomp --crypt none --sndwnd 1024 --rcvwnd 1024 --quiet)
rows=()
for cond in $conditions; do
    case "$cond" in
        loss*) up_args=(--loss "${cond#loss}") ;;
        rate*) up_args=(--rate "${cond#rate}") ;;
        *) echo "lab-bench: unknown condition $cond (lossN or rateN)" >&2; exit 2 ;;
    esac
    "$lab" up --client-nat cone --device-nat none "${up_args[@]}" >"$work/lab.log"
    lab_is_up=1
    # Background helpers inside the lab; `lab.sh down` ends whatever runs in its namespaces.
    "$lab" exec inet timeout 600 "$bin/t2u-server" --port 7000 --bind 203.0.113.10 --log-level warning >"$work/server.log" 2>&1 &
    "$lab" exec dev timeout 600 iperf3 -s -p 5201 >"$work/iperf-server.log" 2>&1 &
    "$lab" exec dev timeout 600 "$bin/t2usvr" BENCH-DEV 203.0.113.10 7000 --log-level warning >"$work/device.log" 2>&1 &
    "$lab" exec dev timeout 600 kcptun-server -l :29900 -t 127.0.0.1:5201 "${kcp_flags[@]}" >"$work/kcp-server.log" 2>&1 &
    "$lab" exec cli timeout 600 kcptun-client -r 192.0.2.10:29900 -l 127.0.0.1:15202 "${kcp_flags[@]}" >"$work/kcp-client.log" 2>&1 &
    "$lab" exec cli timeout 600 "$bin/t2u" forward BENCH-DEV 5201 --local 15201 --server 203.0.113.10 --port 7000 >"$work/forward.log" 2>&1 &
    sleep 1
    tcp="$(iperf cli 192.0.2.10 5201)"
    kcp=fail
    if wait_port cli 15202; then kcp="$(iperf cli 127.0.0.1 15202)"; fi
    t2u=fail
    if wait_port cli 15201; then t2u="$(iperf cli 127.0.0.1 15201)"; fi
    path="$(grep -aoE 'direct|LAN|relay' "$work/forward.log" | tail -n1 || true)"
    echo "RESULT lab cond=$cond t2u_mbps=$t2u tcp_mbps=$tcp kcptun_mbps=$kcp t2u_path=${path:-unknown}"
    rows+=("$(printf '%-8s %10s %10s %10s   %s' "$cond" "$t2u" "$tcp" "$kcp" "${path:-unknown}")")
    "$lab" down
    lab_is_up=0
done
echo
printf '%-8s %10s %10s %10s   %s\n' condition t2u_mbps tcp_mbps kcptun_mbps t2u_path
for row in "${rows[@]}"; do echo "$row"; done
