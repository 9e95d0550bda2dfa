#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the t2u authors
# Lab benchmark (root): raw TCP (CUBIC, BBR), kcptun, Nebula and t2u (direct and relayed) side by
# side through the same path of the namespace lab (Tests/netlab/lab.sh), with a delay line
# (t2u-delayline) on the client's access link giving RTT, loss and rate.
#
#   Benchmarks/lab-bench.sh [--seconds S] [--conditions "rtt40-loss0 rtt40-loss1 ..."]
#   Benchmarks/lab-bench.sh --setup [--rtts "0 40 160"] [--starts 20]
#   Benchmarks/lab-bench.sh --soak [--transfers 100] [--soak-seconds 3] [--soak-condition rtt40-loss1]
#
# A condition is rttMS-lossPCT[-rateMBIT]: the line on router A's WAN delays each direction by
# MS/2, drops PCT % of frames each way (seeded) and, with rateMBIT, limits each direction to MBIT
# Mbit/s (token bucket, 1000-frame queue). Default: RTT 1/40/160 ms x loss 0/1/5 % plus
# rtt40-loss1 at 10, 50 and 200 Mbit/s (CPU per byte at paced rates). Path: client host behind NAT A (Linux masquerade, "cone"), device host
# behind router B (routed, "none"), server and Nebula lighthouse on the public segment; the
# client's paths to the server, the relay and the device all cross the line. One TCP stream of
# iperf3, client to device, receiver goodput (Mbit/s):
#   tcp_cubic, tcp_bbr  iperf3 -C cubic|bbr straight to the device (tcp_wmem/rmem raised)
#   kcptun    through kcptun (--mode fast3 --nocomp --crypt none, windows 1024)
#   nebula    iperf3 -C bbr to the device's Nebula address (CA and certs made by this script)
#   t2u       through `t2u forward` (direct), and t2u_relay: the same with direct UDP between
#             the two sides dropped on router A, so the link can only use the server's relay
#             (the CLI has no --relay-only yet)
# plus CPU-s per GB of each tunnel's two ends during its run: t2u on the client (t2u forward) and
# the device (t2usvr), kcptun's client and server, Nebula on the client and the device.
# Prints a table and one `RESULT lab cond=... t2u_mbps=... ... ratio_bbr=...` line per condition.
#
# --setup: issue 10's setup time. Per RTT (a lab with --rtt MS), `t2u-bench setup` measures
# first-byte time through a fresh add_port mapping to an echo service on the device, with the
# client already connected to its server ("warm") and from a cold client start, beside TCP
# connect + request to the same service, --starts times each; prints `RESULT setup ...` lines.
# --setup-loss N: N% of packets dropped each way on the client's router meanwhile (lab.sh --loss).
#
# --soak: issue 11's "no state outlives its stream". One `t2u forward` carries --transfers
# sequential iperf3 runs of --soak-seconds each (new TCP connections, so new streams, each time)
# through the condition's path; per run: receiver goodput and CPU-s per GB of the forward and
# the device. (Timed runs: with iperf3 -n the client ends when its bytes sit in t2u's buffers.) Prints the first and last tenth side by side (medians), the slowest transfer and
# the transfers below a quarter of the median (stalls), and `RESULT soak ...`.
#
# Binaries: the checkout's release build (built here), or $T2U_BIN (t2u, t2u-server, t2usvr,
# t2u-bench), $T2U_DELAYLINE and $T2U_BENCH. Bounded: every tool runs under `timeout`; the lab is removed on
# exit. Tools: apt-get install iperf3 kcptun nebula iproute2 nftables ethtool python3.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=10
conditions="rtt1-loss0 rtt1-loss1 rtt1-loss5 rtt40-loss0 rtt40-loss1 rtt40-loss5 rtt160-loss0 rtt160-loss1 rtt160-loss5 rtt40-loss1-rate10 rtt40-loss1-rate50 rtt40-loss1-rate200"
setup=0
rtts="0 40 160"
starts=20
setup_loss=0
soak=0
transfers=100
soak_seconds=3
soak_condition=rtt40-loss1
while [ $# -gt 0 ]; do
    case "$1" in
        --seconds) seconds="$2"; shift 2 ;;
        --conditions) conditions="$2"; shift 2 ;;
        --setup) setup=1; shift ;;
        --rtts) rtts="$2"; shift 2 ;;
        --starts) starts="$2"; shift 2 ;;
        --setup-loss) setup_loss="$2"; shift 2 ;;
        --soak) soak=1; shift ;;
        --transfers) transfers="$2"; shift 2 ;;
        --soak-seconds) soak_seconds="$2"; shift 2 ;;
        --soak-condition) soak_condition="$2"; shift 2 ;;
        -h|--help) sed -n '4,42p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "lab-bench: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done
[ "$(id -u)" = 0 ] || { echo "lab-bench: needs root (network namespaces)" >&2; exit 1; }
tools="iperf3 nft ip ethtool python3 timeout"
[[ "$transfers" =~ ^[0-9]+$ ]] && [ "$transfers" -ge 10 ] && [ "$transfers" -le 1000 ] || { echo "lab-bench: --transfers must be 10...1000" >&2; exit 2; }
[[ "$soak_seconds" =~ ^[0-9]+$ ]] && [ "$soak_seconds" -ge 1 ] && [ "$soak_seconds" -le 60 ] || { echo "lab-bench: --soak-seconds must be 1...60" >&2; exit 2; }
[ "$setup" = 1 ] || [ "$soak" = 1 ] || tools="$tools kcptun-client kcptun-server nebula nebula-cert"
for tool in $tools; do
    command -v "$tool" >/dev/null || { echo "lab-bench: $tool missing (apt-get install iperf3 kcptun nebula iproute2 nftables ethtool python3)" >&2; exit 1; }
done

if [ -z "${T2U_BIN:-}" ]; then
    swift build -c release >/dev/null
    T2U_BIN="$(swift build -c release --show-bin-path)"
fi
bin="$T2U_BIN"
export T2U_DELAYLINE="${T2U_DELAYLINE:-$bin/t2u-delayline}"
for exe in t2u t2u-server t2usvr; do [ -x "$bin/$exe" ] || { echo "lab-bench: $bin/$exe missing" >&2; exit 1; }; done
[ -x "$T2U_DELAYLINE" ] || { echo "lab-bench: $T2U_DELAYLINE missing (swift build -c release --product t2u-delayline)" >&2; exit 1; }
lab=Tests/netlab/lab.sh
work="$(mktemp -d "${TMPDIR:-/tmp}/t2u-labbench.XXXXXX")"
export T2U_LAB="${T2U_LAB:-t2u-bench-$$-}"
export T2U_KNOWN_DEVICES="$work/known_devices"
lab_is_up=0
cleanup() {
    if [ "$lab_is_up" = 1 ]; then "$lab" down || true; fi
    if [ -n "${keep_logs:-}" ]; then echo "logs kept in $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Large TCP and UDP buffers in the end hosts: the default tcp_wmem max (4 MiB) caps a 40 ms path.
big_buffers() {
    local host
    for host in cli dev; do
        "$lab" exec "$host" sysctl -qw net.ipv4.tcp_wmem="4096 131072 134217728" \
            net.ipv4.tcp_rmem="4096 131072 134217728" >/dev/null
        "$lab" exec "$host" sysctl -qw net.core.rmem_max=134217728 net.core.wmem_max=134217728 >/dev/null 2>&1 || true
    done
}

# Starts a background helper in HOST under timeout, in a session of its own (a signal to the
# script's process group must not reach it: an iperf3 server there was seen SIGTERMed by a
# short-lived process of the harness during a lossy run; our binaries send no signal); its PID
# (of timeout) in $started.
spawn() {
    local host="$1" log="$2"; shift 2
    "$lab" exec "$host" setsid timeout 900 "$@" </dev/null >"$work/$log" 2>&1 &
    started=$!
}

# PID of the process named NAME among the descendants of PID (lab.sh exec, ip netns exec,
# setsid and timeout may each fork or exec, so the depth varies); waits up to 2 s for it.
descendant_named() {
    local pid="$1" name="$2" queue c
    for _ in $(seq 1 40); do
        queue="$pid"
        while [ -n "$queue" ]; do
            set -- $queue
            c="$1"; shift; queue="$*"
            [ "$(cat "/proc/$c/comm" 2>/dev/null)" = "$name" ] && { echo "$c"; return; }
            queue="$queue $(pgrep -P "$c" | tr '\n' ' ')"
            queue="${queue# }"; queue="${queue% }"
        done
        sleep 0.05
    done
}

# utime + stime of PID in seconds.
cpu_seconds() {
    awk -v hz="$(getconf CLK_TCK)" '{ printf "%.3f", ($14 + $15) / hz }' "/proc/$1/stat" 2>/dev/null || echo 0
}

# iperf3 from HOST to TARGET:PORT with congestion control CC: "MBPS BYTES", or "fail 0".
iperf() {
    local host="$1" target="$2" port="$3" cc="$4" out="$work/iperf.json"
    if timeout $((seconds + 30)) "$lab" exec "$host" iperf3 -c "$target" -p "$port" -t "$seconds" -C "$cc" -J >"$out" 2>&1; then
        python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["end"]["sum_received"]; print("%.1f %d" % (r["bits_per_second"]/1e6, r["bytes"]))' "$out" 2>/dev/null || echo "fail 0"
    else
        echo "fail 0"
    fi
}

# Waits (bounded) until a short iperf3 run to TARGET:PORT from HOST succeeds.
wait_port() {
    local host="$1" target="$2" port="$3"
    # A long lossy path needs seconds for iperf3's control exchange alone.
    local until=$((SECONDS + 60))
    while [ $SECONDS -lt $until ]; do
        if timeout 15 "$lab" exec "$host" iperf3 -c "$target" -p "$port" -t 1 >/dev/null 2>&1; then return 0; fi
        sleep 0.5
    done
    return 1
}

# iperf3 as `iperf` does, measuring the CPU of the tunnel's two ends meanwhile: the processes
# named CLI_NAME and DEV_NAME under CLI_PID and DEV_PID. Prints "MBPS CLI_CPU,DEV_CPU" (CPU-s per
# GB received), or "fail -,-".
measured_iperf() {
    local host="$1" target="$2" port="$3" cc="$4" cpid dpid c0 d0 c1 d1 out mbps bytes
    cpid="$(descendant_named "$5" "$6")"; dpid="$(descendant_named "$7" "$8")"
    c0="$(cpu_seconds "$cpid")"; d0="$(cpu_seconds "$dpid")"
    out="$(iperf "$host" "$target" "$port" "$cc")"
    c1="$(cpu_seconds "$cpid")"; d1="$(cpu_seconds "$dpid")"
    mbps="${out% *}"; bytes="${out#* }"
    echo "$mbps $(per_gb "$(awk -v a="$c0" -v b="$c1" 'BEGIN { print b - a }')" "$bytes"),$(per_gb "$(awk -v a="$d0" -v b="$d1" 'BEGIN { print b - a }')" "$bytes")"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a+0 > 0 && b+0 > 0) printf "%.2f", a / b; else print "-" }'; }
per_gb() { awk -v c="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f", c / (b / 1e9); else print "-" }'; }

# Nebula: a CA and three certificates (lighthouse, client, device), once per run.
nebula_certs() {
    local dir="$work/nebula"
    mkdir -p "$dir"
    (cd "$dir" && nebula-cert ca -name t2u-lab -duration 24h \
        && nebula-cert sign -name lighthouse -ip 100.64.0.1/24 \
        && nebula-cert sign -name cli -ip 100.64.0.2/24 \
        && nebula-cert sign -name dev -ip 100.64.0.3/24) >/dev/null
}

# The lighthouse binds its address: the public segment has several, and a reply from another
# one would not pass the client's address-dependent NAT filter.
nebula_config() {
    local name="$1" listen="$2" lighthouse="$3" dir="$work/nebula" host=0.0.0.0
    [ "$lighthouse" = true ] && host=203.0.113.11
    cat >"$dir/$name.yml" <<EOF
pki:
  ca: $dir/ca.crt
  cert: $dir/$name.crt
  key: $dir/$name.key
static_host_map:
  "100.64.0.1": ["203.0.113.11:4242"]
lighthouse:
  am_lighthouse: $lighthouse
  interval: 60
  hosts: $( [ "$lighthouse" = true ] && echo '[]' || echo '["100.64.0.1"]' )
listen:
  host: $host
  port: $listen
  read_buffer: 33554432
  write_buffer: 33554432
punchy:
  punch: true
tun:
  dev: nebula1
  mtu: 1300
logging:
  level: warning
firewall:
  outbound: [{port: any, proto: any, host: any}]
  inbound: [{port: any, proto: any, host: any}]
EOF
}

# --- throughput rows --------------------------------------------------------------------------

kcp_flags=(--mode fast3 --nocomp --crypt none --sndwnd 1024 --rcvwnd 1024 --quiet)

# Brings the lab up for condition $1 (see above) with the server, an iperf3 server and the device
# agent running; the agent's PID in $agent.
lab_for_condition() {
    local cond="$1" rtt loss rate=0
    [[ "$cond" =~ ^rtt([0-9]+)-loss([0-9]+)(-rate([0-9]+))?$ ]] || { echo "lab-bench: condition $cond is not rttMS-lossPCT[-rateMBIT]" >&2; exit 2; }
    rtt="${BASH_REMATCH[1]}"; loss="${BASH_REMATCH[2]}"; rate="${BASH_REMATCH[4]:-0}"
    local line="--loss ${loss}% --seed $RANDOM"
    [ "$rate" != 0 ] && line="$line --rate ${rate}mbit"
    "$lab" up --client-nat cone --device-nat none --rtt "$rtt" --line nata="$line" >"$work/lab.log"
    lab_is_up=1
    big_buffers
    spawn inet server.log "$bin/t2u-server" --port 7000 --bind 203.0.113.10 --log-level warning
    spawn dev iperf-server.log iperf3 -s -p 5201
    spawn dev device.log "$bin/t2usvr" BENCH-DEV 203.0.113.10 7000 --log-level warning --state "$work/device.key"
    agent="$(descendant_named "$started" t2usvr)"
    sleep 1
}

bench_condition() {
    local cond="$1" agent
    lab_for_condition "$cond"

    local tcp_cubic tcp_bbr kcp=fail neb=fail t2u=fail relay=fail cli_cpu=- dev_cpu=- out kcp_cpu=-,- neb_cpu=-,-
    tcp_cubic="$(iperf cli 192.0.2.10 5201 cubic | cut -d' ' -f1)"
    tcp_bbr="$(iperf cli 192.0.2.10 5201 bbr | cut -d' ' -f1)"

    spawn dev kcp-server.log kcptun-server -l :29900 -t 127.0.0.1:5201 "${kcp_flags[@]}"
    local kcp_server=$started
    spawn cli kcp-client.log kcptun-client -r 192.0.2.10:29900 -l 127.0.0.1:15202 "${kcp_flags[@]}"
    local kcp_client=$started
    if wait_port cli 127.0.0.1 15202; then
        read -r kcp kcp_cpu <<<"$(measured_iperf cli 127.0.0.1 15202 cubic "$kcp_client" kcptun-client "$kcp_server" kcptun-server)"
    fi
    kill "$kcp_server" "$kcp_client" 2>/dev/null || true

    nebula_config lighthouse 4242 true
    nebula_config cli 0 false
    nebula_config dev 4243 false
    spawn inet nebula-lh.log nebula -config "$work/nebula/lighthouse.yml"
    local n1=$started
    spawn dev nebula-dev.log nebula -config "$work/nebula/dev.yml"
    local n2=$started
    spawn cli nebula-cli.log nebula -config "$work/nebula/cli.yml"
    local n3=$started
    if wait_port cli 100.64.0.3 5201; then
        read -r neb neb_cpu <<<"$(measured_iperf cli 100.64.0.3 5201 bbr "$n3" nebula "$n2" nebula)"
    fi
    kill "$n1" "$n2" "$n3" 2>/dev/null || true

    spawn cli forward.log "$bin/t2u" forward BENCH-DEV 5201 --local 15201 --server 203.0.113.10 --port 7000
    local fwd=$started
    if wait_port cli 127.0.0.1 15201; then
        read -r t2u out <<<"$(measured_iperf cli 127.0.0.1 15201 cubic "$fwd" t2u "$agent" t2usvr)"
        cli_cpu="${out%,*}"; dev_cpu="${out#*,}"
    fi
    local path
    path="$(grep -aoE 'direct|LAN|relay' "$work/forward.log" | tail -n1 || true)"
    kill "$fwd" 2>/dev/null || true
    wait "$fwd" 2>/dev/null || true

    # Relayed: no direct UDP between the two sides, so only the server's relay can carry the link.
    "$lab" exec nata nft insert rule ip lab fwd_filter ip daddr 192.0.2.0/24 meta l4proto udp drop
    spawn cli forward-relay.log "$bin/t2u" forward BENCH-DEV 5201 --local 15203 --server 203.0.113.10 --port 7000
    local rfwd=$started
    if wait_port cli 127.0.0.1 15203; then relay="$(iperf cli 127.0.0.1 15203 cubic | cut -d' ' -f1)"; fi
    local rpath
    rpath="$(grep -aoE 'direct|LAN|relay' "$work/forward-relay.log" | tail -n1 || true)"
    if [ "$relay" = fail ]; then
        # Say why, while the logs exist: the next condition overwrites them.
        { echo "lab-bench: $cond: relayed run failed; end of its forward log and iperf3 output:"
          tail -n 5 "$work/forward-relay.log"; tail -c 600 "$work/iperf.json"; echo; } >&2
    fi
    kill "$rfwd" 2>/dev/null || true

    echo "RESULT lab cond=$cond t2u_mbps=$t2u t2u_relay_mbps=$relay tcp_cubic_mbps=$tcp_cubic tcp_bbr_mbps=$tcp_bbr kcptun_mbps=$kcp nebula_mbps=$neb ratio_bbr=$(ratio "$t2u" "$tcp_bbr") t2u_cli_cpu_s_per_gb=$cli_cpu t2u_dev_cpu_s_per_gb=$dev_cpu kcptun_cpu_s_per_gb=$kcp_cpu nebula_cpu_s_per_gb=$neb_cpu t2u_path=${path:-unknown} relay_path=${rpath:-unknown}"
    rows+=("$(printf '%-20s %8s %8s %8s %8s %8s %8s %6s %7s %7s %11s %11s  %s/%s' "$cond" "$t2u" "$relay" "$tcp_cubic" "$tcp_bbr" "$kcp" "$neb" \
        "$(ratio "$t2u" "$tcp_bbr")" "$cli_cpu" "$dev_cpu" "$kcp_cpu" "$neb_cpu" "${path:-?}" "${rpath:-?}")")
    "$lab" down
    lab_is_up=0
}

# --- setup time -------------------------------------------------------------------------------

bench_setup() {
    local rtt="$1"
    local bench="${T2U_BENCH:-$bin/t2u-bench}"
    [ -x "$bench" ] || { echo "lab-bench: $bench missing" >&2; exit 1; }
    local args=(--client-nat cone --device-nat none)
    [ "$rtt" != 0 ] && args+=(--rtt "$rtt")
    [ "$setup_loss" != 0 ] && args+=(--loss "$setup_loss")
    "$lab" up "${args[@]}" >"$work/lab.log"
    lab_is_up=1
    # The agents pin the server's key, as deployments should (a client that does skips HELLO).
    local svrkey
    svrkey="$("$bin/t2u-server" --key-file "$work/server.key" --print-public-key)"
    spawn inet server.log "$bin/t2u-server" --port 7000 --bind 203.0.113.10 --log-level warning --key-file "$work/server.key"
    spawn dev echo.log "$bin/t2u" check --echo --echo-port 7007 --echo-host 0.0.0.0
    spawn dev device.log "$bin/t2usvr" BENCH-DEV 203.0.113.10 7000 "$svrkey" --log-level warning --state "$work/device.key"
    sleep 1
    timeout $((starts * 3 * 15 + 60)) "$lab" exec cli "$bench" setup --server 203.0.113.10 --port 7000 \
        --device BENCH-DEV --remote-port 7007 --tcp 192.0.2.10:7007 --starts "$starts" --rtt-ms "$rtt" \
        --known-devices "$work/known_devices" --server-key "$svrkey" \
        | sed "s/^RESULT setup /RESULT setup loss_pct=$setup_loss /" | tee -a "$work/setup.out"
    "$lab" down
    lab_is_up=0
}

# --- soak: one mapping, many transfers -----------------------------------------------------------

bench_soak() {
    local agent fwd_pid i out mbps bytes c0 d0 c1 d1
    lab_for_condition "$soak_condition"
    spawn cli forward.log "$bin/t2u" forward BENCH-DEV 5201 --local 15201 --server 203.0.113.10 --port 7000
    fwd_pid="$(descendant_named "$started" t2u)"
    wait_port cli 127.0.0.1 15201 || { echo "lab-bench: no port through t2u forward" >&2; exit 1; }
    : >"$work/soak.tsv"
    for i in $(seq 1 "$transfers"); do
        c0="$(cpu_seconds "$fwd_pid")"; d0="$(cpu_seconds "$agent")"
        out="$(seconds="$soak_seconds" iperf cli 127.0.0.1 15201 cubic)"
        c1="$(cpu_seconds "$fwd_pid")"; d1="$(cpu_seconds "$agent")"
        mbps="${out% *}"; bytes="${out#* }"
        printf '%s\t%s\t%s\t%s\n' "$i" "$mbps" "$(per_gb "$(awk -v a="$c0" -v b="$c1" 'BEGIN { print b - a }')" "$bytes")" \
            "$(per_gb "$(awk -v a="$d0" -v b="$d1" 'BEGIN { print b - a }')" "$bytes")" >>"$work/soak.tsv"
    done
    "$lab" down >/dev/null
    lab_is_up=0
    python3 - "$work/soak.tsv" "$soak_condition" "$soak_seconds" <<'PY'
import statistics, sys
rows = [line.split("\t") for line in open(sys.argv[1]).read().split("\n") if line]
def num(v):
    try: return float(v)
    except ValueError: return None
goodput = [num(r[1]) or 0.0 for r in rows]
cli = [num(r[2]) for r in rows]
dev = [num(r[3]) for r in rows]
tenth = max(1, len(rows) // 10)
def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else float("nan")
median = med(goodput)
stalls = [i + 1 for i, g in enumerate(goodput) if g < median / 4]
first, last = slice(0, tenth), slice(len(rows) - tenth, len(rows))
print(f"soak through one t2u forward, {sys.argv[2]}, {len(rows)} runs of {sys.argv[3]} s (medians of the first and last {tenth})")
print(f"{'':24}{'first':>10}{'last':>10}{'last/first':>12}")
for name, xs in (("goodput Mbit/s", goodput), ("client CPU-s per GB", cli), ("device CPU-s per GB", dev)):
    a, b = med(xs[first]), med(xs[last])
    print(f"{name:24}{a:10.1f}{b:10.1f}{b / a if a else float('nan'):12.2f}")
print(f"slowest transfer: #{goodput.index(min(goodput)) + 1} at {min(goodput):.1f} Mbit/s; below a quarter of the median ({median:.1f}): {len(stalls)} {stalls[:10]}")
print("per transfer (Mbit/s): " + " ".join(f"{g:.0f}" for g in goodput))
print(f"RESULT soak cond={sys.argv[2]} transfers={len(rows)} seconds={sys.argv[3]} first_mbps={med(goodput[first]):.1f} last_mbps={med(goodput[last]):.1f} "
      f"median_mbps={median:.1f} min_mbps={min(goodput):.1f} stalls={len(stalls)} first_cli_cpu_s_per_gb={med(cli[first]):.1f} last_cli_cpu_s_per_gb={med(cli[last]):.1f} "
      f"first_dev_cpu_s_per_gb={med(dev[first]):.1f} last_dev_cpu_s_per_gb={med(dev[last]):.1f}")
PY
}

rows=()
if [ "$soak" = 1 ]; then
    bench_soak
    exit 0
fi
if [ "$setup" = 1 ]; then
    for rtt in $rtts; do bench_setup "$rtt"; done
    echo
    grep '^RESULT setup' "$work/setup.out" || true
    exit 0
fi
nebula_certs
for cond in $conditions; do bench_condition "$cond"; done
echo
echo "Mbit/s (iperf3 receiver, one stream, ${seconds} s); ratio = t2u / TCP BBR; CPU-s per GB of t2u on the client / device"
printf '%-20s %8s %8s %8s %8s %8s %8s %6s %7s %7s %11s %11s  %s\n' condition t2u t2u_rly tcp_cub tcp_bbr kcptun nebula ratio cli_cpu dev_cpu kcp_cpu neb_cpu path/relay_path
for row in "${rows[@]}"; do echo "$row"; done
