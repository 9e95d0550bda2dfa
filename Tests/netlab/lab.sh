#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the t2u authors
# t2u NAT lab on Linux network namespaces (root only). Documentation address ranges only.
#
#   lab.sh up --client-nat T --device-nat T [--loss N] [--rate MBIT] [--clash [ROUTER]] [--device-upnp]
#             [--rtt MS] [--line HOST="t2u-delayline options"]... [--ipv6 dual|only]
#   lab.sh down                 remove this lab's namespaces (and the processes in them)
#   lab.sh exec HOST cmd...     run cmd in HOST: inet, nata, natb, cli, dev, dev2
#   lab.sh status               list this lab's namespaces and NAT rules
#   lab.sh flush ROUTER         conntrack -F on nata or natb (mappings forgotten)
#   lab.sh rebind ROUTER        like a NAT reboot: mappings forgotten, new external ports
#   lab.sh mappings ROUTER      the port mappings miniupnpd made on ROUTER (--device-upnp)
#   lab.sh firewall6 ROUTER     new inbound IPv6 packets ROUTER's firewall dropped (--ipv6)
#
# T is none, fullcone, cone or symmetric. The lab is named by $T2U_LAB (default t2u-<pid>-); `up`
# prints `export T2U_LAB=...` so later calls find it. Namespaces are ${T2U_LAB}HOST, so parallel
# labs never collide, and `down` removes exactly its own.
#
# Topology:
#   inet  203.0.113.0/24 "internet" bridge: server 203.0.113.10 and .11, probe-only .12
#   nata  NAT router A: WAN 203.0.113.1, LAN 198.51.100.1/24 --- cli 198.51.100.10
#   natb  NAT router B: WAN 203.0.113.2, LAN 192.0.2.1/24    --- dev 192.0.2.10, dev2 192.0.2.11
# NAT types: none (routed, no translation, no filtering), fullcone (endpoint-independent mapping
# and filtering), cone (Linux masquerade: port preserving, endpoint-independent mapping,
# address+port-dependent filtering), symmetric (masquerade fully-random). Each router drops new
# unsolicited inbound on its WAN at the input hook (as home routers do; a packet that reaches the
# router first would otherwise leave a conntrack entry that clashes with the inside host's later
# mapping); --clash keeps such packets to test against routers that do clash (both routers, or
# only ROUTER: nata or natb).
# --loss N drops N% of packets each way on router A's WAN (nftables numgen); --rate MBIT shapes
# both directions of router A's WAN with tbf. --device-upnp runs miniupnpd on router B (UPnP-IGD,
# NAT-PMP and PCP on its LAN side; apt-get install miniupnpd-nftables), so the device may map a
# port. Each NAT is verified by natprobe.py before `up` returns; `up` removes what it built when
# anything fails.
# --line HOST="OPTIONS" puts a delay line on HOST's link to its bridge (HOST: nata or natb for
# the routers' WANs, cli, dev or dev2 for the LAN hosts): instead of a veth pair, two TAP devices
# with a t2u-delayline process between them (running in the bridge's namespace, so `down` ends
# it), OPTIONS being its per-direction settings, a->b = HOST to bridge (e.g. "--delay 20ms
# --loss 1% --rate 50mbit"; see t2u-delayline --help). --rtt MS is short for a line on nata with
# MS/2 each way: the client's paths to the server, the relay and the device all get MS more RTT.
# The binary: $T2U_DELAYLINE, else $T2U_BIN/t2u-delayline, else built (swift build -c release).
# --ipv6 dual adds IPv6 (2001:db8::/32, no NAT66) beside IPv4: inet 2001:db8:0:1::/64 (server
# 2001:db8:0:1::10, routers ::1 and ::2), cli 2001:db8:a::10/64 behind nata, dev 2001:db8:b::10 and
# dev2 ::11 behind natb; each router runs a stateful IPv6 firewall as home routers do (forward:
# established/related accepted, LAN to WAN accepted, new inbound counted and dropped). --ipv6 only
# also drops all forwarded IPv4 on both routers (an IPv6-only access network: IPv4 stays on the
# LANs). Addresses are added with nodad and router advertisements are ignored.
set -euo pipefail
[ -n "${LAB_TRACE:-}" ] && { PS4='+ $EPOCHREALTIME '; set -x; }

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
hosts=(inet nata natb cli dev dev2)
state_root="${T2U_LAB_STATE:-/run/t2u-netlab}"

die() { echo "lab.sh: $*" >&2; exit 1; }
usage() { sed -n '4,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

lab_name() {
    if [ -n "${T2U_LAB:-}" ]; then echo "$T2U_LAB"; return; fi
    die "T2U_LAB is not set (lab.sh up prints it: export T2U_LAB=...)"
}

ns() { echo "$(lab_name)$1"; }
in_ns() { local host="$1"; shift; ip netns exec "$(ns "$host")" "$@"; }

# --- down ------------------------------------------------------------------------------------------

lab_down() {
    local name="$1" n pids
    # Exactly our namespaces: the recorded host names under our exact prefix.
    # Frames the kernel dropped in the taps' queues towards a delay line (not in its own counters).
    local taps
    for taps in "$state_root/$name"/line-*.taps; do
        [ -e "$taps" ] || continue
        local lhost liface lbridge lport near far
        read -r lhost liface lbridge lport <"$taps"
        near="$(ip netns exec "${name}$lhost" cat "/sys/class/net/$liface/statistics/tx_dropped" 2>/dev/null || echo '?')"
        far="$(ip netns exec "${name}$lbridge" cat "/sys/class/net/$lport/statistics/tx_dropped" 2>/dev/null || echo '?')"
        echo "delay line $lhost taps: tx_dropped $lhost=$near $lbridge=$far"
    done
    for host in "${hosts[@]}"; do
        n="${name}${host}"
        [ -e "/run/netns/$n" ] || continue
        pids="$(ip netns pids "$n" 2>/dev/null || true)"
        if [ -n "$pids" ]; then
            # shellcheck disable=SC2086
            kill -TERM $pids 2>/dev/null || true
        fi
    done
    for host in "${hosts[@]}"; do
        n="${name}${host}"
        [ -e "/run/netns/$n" ] || continue
        for _ in $(seq 1 20); do
            pids="$(ip netns pids "$n" 2>/dev/null || true)"
            [ -z "$pids" ] && break
            sleep 0.1
        done
        if [ -n "$pids" ]; then
            # shellcheck disable=SC2086
            kill -KILL $pids 2>/dev/null || true
        fi
        ip netns del "$n" 2>/dev/null || true
    done
    # What each delay line carried and dropped (printed by the forwarder on SIGTERM).
    local log
    for log in "$state_root/$name"/line-*.log; do
        [ -e "$log" ] || continue
        sed -n "s/^\(a->b\|b->a\):/delay line $(basename "$log" .log | sed 's/^line-//') \1:/p" "$log"
    done
    rm -rf "${state_root:?}/$name"
}

# --- up --------------------------------------------------------------------------------------------

valid_nat() { case "$1" in none|fullcone|cone|symmetric) return 0 ;; *) return 1 ;; esac; }

sysctls() {
    local host="$1" forward="$2"
    in_ns "$host" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 \
        net.ipv4.ip_forward="$forward" net.ipv4.conf.all.send_redirects=0 net.ipv4.conf.default.send_redirects=0
    if [ "$ipv6" != none ]; then
        # Before any interface exists, so every one inherits "default": no RA, no DAD delays.
        in_ns "$host" sysctl -qw net.ipv6.conf.all.disable_ipv6=0 net.ipv6.conf.default.disable_ipv6=0 \
            net.ipv6.conf.all.accept_ra=0 net.ipv6.conf.default.accept_ra=0 \
            net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.forwarding="$forward"
    fi
    in_ns "$host" ip link set lo up
}

# IPv6 on every host (see --ipv6): addresses, routes, and the routers' stateful firewalls.
ipv6_setup() {
    local mode="$1" router
    in_ns inet ip -6 addr add 2001:db8:0:1::10/64 dev inet nodad
    in_ns nata ip -6 addr add 2001:db8:0:1::1/64 dev wan nodad
    in_ns natb ip -6 addr add 2001:db8:0:1::2/64 dev wan nodad
    in_ns nata ip -6 addr add 2001:db8:a::1/64 dev lan nodad
    in_ns natb ip -6 addr add 2001:db8:b::1/64 dev lan nodad
    in_ns cli ip -6 addr add 2001:db8:a::10/64 dev eth0 nodad
    in_ns dev ip -6 addr add 2001:db8:b::10/64 dev eth0 nodad
    in_ns dev2 ip -6 addr add 2001:db8:b::11/64 dev eth0 nodad
    in_ns cli ip -6 route add default via 2001:db8:a::1
    in_ns dev ip -6 route add default via 2001:db8:b::1
    in_ns dev2 ip -6 route add default via 2001:db8:b::1
    in_ns inet ip -6 route add 2001:db8:a::/64 via 2001:db8:0:1::1
    in_ns inet ip -6 route add 2001:db8:b::/64 via 2001:db8:0:1::2
    in_ns nata ip -6 route add 2001:db8:b::/64 via 2001:db8:0:1::2
    in_ns natb ip -6 route add 2001:db8:a::/64 via 2001:db8:0:1::1
    for router in nata natb; do
        in_ns "$router" nft -f - <<EOF
table ip6 lab6 {
  chain fwd_filter {
    type filter hook forward priority filter; policy drop;
    ct state established,related accept
    iifname "lan" oifname "wan" accept
    iifname "wan" ct state new counter drop
  }
}
EOF
        local listing
        listing="$(in_ns "$router" nft list table ip6 lab6)"
        grep -q 'ct state new counter' <<<"$listing" || die "$router: IPv6 firewall rules missing"
        if [ "$mode" = only ]; then
            in_ns "$router" nft -f - <<EOF
table ip lab_v6only {
  chain no_ipv4 {
    type filter hook forward priority filter - 20; policy drop;
  }
}
EOF
            listing="$(in_ns "$router" nft list table ip lab_v6only)"
            grep -q 'policy drop' <<<"$listing" || die "$router: IPv4 block missing"
        fi
    done
    # Each LAN host reaches the server over IPv6 before anything relies on it.
    local host
    for host in cli dev dev2; do
        in_ns "$host" ping -6 -c 1 -W 2 2001:db8:0:1::10 >/dev/null 2>&1 \
            || in_ns "$host" ping -6 -c 1 -W 2 2001:db8:0:1::10 >/dev/null \
            || die "$host cannot reach 2001:db8:0:1::10 over IPv6"
    done
}

# A bridge whose frames bypass netfilter (bridge-nf is on in every new namespace here) and which
# floods multicast (snooping off) so LAN discovery works.
make_bridge() {
    local host="$1" bridge="$2"
    in_ns "$host" ip link add "$bridge" type bridge mcast_snooping 0
    in_ns "$host" sysctl -qw net.bridge.bridge-nf-call-iptables=0 net.bridge.bridge-nf-call-ip6tables=0 \
        net.bridge.bridge-nf-call-arptables=0
    in_ns "$host" ip link set "$bridge" up
}

declare -A line_args=()

delayline_bin() {
    if [ -n "${T2U_DELAYLINE:-}" ]; then echo "$T2U_DELAYLINE"; return; fi
    if [ -n "${T2U_BIN:-}" ] && [ -x "$T2U_BIN/t2u-delayline" ]; then echo "$T2U_BIN/t2u-delayline"; return; fi
    local repo
    repo="$(cd "$here/../.." && pwd)"
    (cd "$repo" && swift build -c release --product t2u-delayline >&2 && echo "$(swift build -c release --show-bin-path)/t2u-delayline")
}

no_offload() {
    local host="$1" dev="$2"
    in_ns "$host" ethtool -K "$dev" tso off gso off gro off >/dev/null 2>&1 || true
}

# A delay line from HOST (IFACE there) to BRIDGE_HOST (PORT there): the forwarder creates both
# taps in BRIDGE_HOST, says "ready", and IFACE's tap moves to HOST (the fd stays with it). The
# kernel's queue towards the forwarder (txqueuelen) is raised: at high rates the default 1000
# frames overflow whenever the forwarder is not scheduled at once.
delay_link() {
    local host="$1" iface="$2" bridge_host="$3" port="$4" exe log opts
    exe="$delayline_exe"
    log="$state_root/$(lab_name)/line-$host.log"
    read -ra opts <<<"${line_args[$host]}"
    in_ns "$bridge_host" "$exe" --tap-a "d-$host" --tap-b "$port" "${opts[@]}" </dev/null >"$log" 2>&1 &
    for _ in $(seq 1 100); do
        grep -q '^ready' "$log" 2>/dev/null && break
        kill -0 $! 2>/dev/null || break
        sleep 0.05
    done
    grep -q '^ready' "$log" 2>/dev/null || { cat "$log" >&2; die "delay line of $host did not start"; }
    in_ns "$bridge_host" ip link set "d-$host" netns "$(ns "$host")"
    in_ns "$host" ip link set "d-$host" name "$iface"
    in_ns "$host" ip link set "$iface" txqueuelen 10000
    in_ns "$bridge_host" ip link set "$port" txqueuelen 10000
    echo "$host $iface $bridge_host $port" >"$state_root/$(lab_name)/line-$host.taps"
}

# veth (or a delay line, see --line) from HOST (named IFACE there) to a port of BRIDGE in
# BRIDGE_HOST (named PORT there).
attach() {
    local host="$1" iface="$2" bridge_host="$3" bridge="$4" port="$5"
    if [ -n "${line_args[$host]:-}" ]; then
        delay_link "$host" "$iface" "$bridge_host" "$port"
    else
        ip link add "$iface" netns "$(ns "$host")" type veth peer name "$port" netns "$(ns "$bridge_host")"
    fi
    in_ns "$bridge_host" ip link set "$port" master "$bridge" up
    in_ns "$host" ip link set "$iface" up
    no_offload "$host" "$iface"
    no_offload "$bridge_host" "$port"
}

lan_host() {
    local host="$1" addr="$2" gw="$3" router="$4"
    sysctls "$host" 0
    attach "$host" eth0 "$router" lan "p-$host"
    in_ns "$host" ip addr add "$addr" dev eth0
    in_ns "$host" ip route add default via "$gw"
    # Joining a multicast group needs a route for it (ENODEV otherwise).
    in_ns "$host" ip route add 224.0.0.0/4 dev eth0
}

# NAT rules of a router; the WAN is "wan", the LAN bridge "lan".
nat_rules() {
    local router="$1" type="$2" clash="$3" masq="masquerade"
    [ "$type" = symmetric ] && masq="masquerade fully-random"
    local rules
    if [ "$type" = none ]; then
        rules="table ip lab {
  chain fwd_filter {
    type filter hook forward priority filter; policy accept;
  }
}"
    else
        rules="table ip lab {
  map fullcone {
    type inet_service : ipv4_addr . inet_service
    flags dynamic,timeout
    timeout 120s
  }
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    oifname \"wan\" $masq
  }
  chain fwd_filter {
    type filter hook forward priority filter; policy drop;
    ct state established,related accept
    iifname \"lan\" oifname \"wan\" accept
    ct status dnat accept
  }
  chain input_filter {
    type filter hook input priority filter; policy accept;
    iifname \"wan\" ct state new $( [ "$clash" = 1 ] && echo counter || echo drop )
  }"
        if [ "$type" = fullcone ]; then
            # Endpoint-independent filtering: remember each outbound UDP mapping (after
            # masquerade, so the key is the external port) and send anything arriving at that
            # port to the inside host.
            rules="$rules
  chain fullcone_learn {
    type filter hook postrouting priority srcnat + 10; policy accept;
    oifname \"wan\" meta l4proto udp update @fullcone { udp sport timeout 120s : ct original ip saddr . ct original proto-src }
  }
  chain prerouting {
    type nat hook prerouting priority dstnat; policy accept;
    iifname \"wan\" meta l4proto udp dnat ip to udp dport map @fullcone
  }"
        fi
        rules="$rules
}"
    fi
    echo "$rules" | in_ns "$router" nft -f -
    # A bad rule can fail silently in a script: check the chains are there.
    local listing
    listing="$(in_ns "$router" nft list table ip lab)"
    grep -q "fwd_filter" <<<"$listing" || die "$router: nft rules missing"
    if [ "$type" != none ]; then
        grep -q "masquerade" <<<"$listing" || die "$router: masquerade rule missing"
    fi
    if [ "$type" = fullcone ]; then
        grep -q "dnat ip to udp dport map @fullcone" <<<"$listing" || die "$router: full-cone DNAT missing"
    fi
}

router() {
    local router="$1" wan="$2" lan="$3" type="$4" clash="$5"
    sysctls "$router" 1
    attach "$router" wan inet inet "p-$router"
    in_ns "$router" ip addr add "$wan/24" dev wan
    make_bridge "$router" lan
    in_ns "$router" ip addr add "$lan" dev lan
    nat_rules "$router" "$type" "$clash"
}

# Impairments on router A's WAN (the client's access link).
impair() {
    local loss="$1" rate="$2"
    if [ "$loss" != 0 ]; then
        in_ns nata nft -f - <<EOF
table ip lab_loss {
  chain loss {
    type filter hook forward priority filter - 10; policy accept;
    iifname "wan" numgen random mod 100 < $loss drop
    oifname "wan" numgen random mod 100 < $loss drop
  }
}
EOF
        # Not `nft ... | grep -q`: under pipefail grep's early exit can fail the pipeline.
        local listing
        listing="$(in_ns nata nft list table ip lab_loss)"
        grep -q "numgen random mod 100 < $loss" <<<"$listing" || die "loss rule missing"
    fi
    if [ "$rate" != 0 ]; then
        in_ns nata tc qdisc add dev wan root tbf rate "${rate}mbit" burst 64kb latency 50ms
        in_ns inet tc qdisc add dev p-nata root tbf rate "${rate}mbit" burst 64kb latency 50ms
    fi
}

# miniupnpd on ROUTER (WAN address WAN_IP), serving LAN_NET on the "lan" bridge: UPnP-IGD (HTTP
# on 5000, SSDP), NAT-PMP and PCP (5351). Its nftables backend fills chains of table inet
# miniupnpd made here. miniupnpd refuses to map behind a "private" WAN address, and documentation
# addresses count as such: it learns its address by STUN from natprobe.py's responder instead,
# and the router's own datagrams are exempt from the masquerade so STUN sees a 1:1 NAT.
gateway_upnp() {
    local router="$1" wan_ip="$2" lan_net="$3" dir="$state_root/$name/miniupnpd-$1" i
    mkdir -p "$dir"
    in_ns "$router" nft -f - <<EOF
table inet miniupnpd {
  chain forward { type filter hook forward priority filter; policy accept; jump miniupnpd; }
  chain miniupnpd { }
  chain prerouting { type nat hook prerouting priority dstnat; policy accept; jump prerouting_miniupnpd; }
  chain postrouting { type nat hook postrouting priority srcnat - 5; policy accept; jump postrouting_miniupnpd; }
  chain prerouting_miniupnpd { }
  chain postrouting_miniupnpd { }
}
EOF
    in_ns "$router" nft insert rule ip lab postrouting oifname "wan" ip saddr "$wan_ip" accept
    ip netns exec "$(ns inet)" python3 "$here/natprobe.py" stun >"$dir/stun.log" 2>&1 &
    for i in $(seq 1 50); do grep -q '^ready' "$dir/stun.log" 2>/dev/null && break; sleep 0.1; done
    grep -q '^ready' "$dir/stun.log" || die "STUN responder did not start: $(cat "$dir/stun.log")"
    cat >"$dir/miniupnpd.conf" <<EOF
ext_ifname=wan
listening_ip=lan
http_port=5000
enable_natpmp=yes
enable_upnp=yes
secure_mode=yes
system_uptime=yes
ext_perform_stun=yes
ext_stun_host=203.0.113.12
ext_stun_port=3480
lease_file=$dir/leases
uuid=00000000-0000-4000-8000-0000000000b2
upnp_table_name=miniupnpd
upnp_nat_table_name=miniupnpd
upnp_forward_chain=miniupnpd
upnp_nat_chain=prerouting_miniupnpd
upnp_nat_postrouting_chain=postrouting_miniupnpd
allow 1024-65535 $lan_net 1024-65535
deny 0-65535 0.0.0.0/0 0-65535
EOF
    in_ns "$router" miniupnpd -d -f "$dir/miniupnpd.conf" >"$dir/miniupnpd.log" 2>&1 &
    for i in $(seq 1 100); do grep -q 'Port forwarding is now enabled' "$dir/miniupnpd.log" 2>/dev/null && break; sleep 0.1; done
    grep -q 'Port forwarding is now enabled' "$dir/miniupnpd.log" || { cat "$dir/miniupnpd.log" >&2; die "$router: miniupnpd did not enable port forwarding"; }
    echo "$router: miniupnpd serving $lan_net (UPnP-IGD, NAT-PMP, PCP)"
}

lab_up() {
    local client_nat="" device_nat="" loss=0 rate=0 clash=0 clash_a=0 clash_b=0 upnp=0
    ipv6=none
    while [ $# -gt 0 ]; do
        case "$1" in
            --client-nat) client_nat="${2:-}"; shift 2 ;;
            --device-nat) device_nat="${2:-}"; shift 2 ;;
            --loss) loss="${2:-}"; shift 2 ;;
            --rate) rate="${2:-}"; shift 2 ;;
            --clash)
                clash=1
                case "${2:-}" in
                    nata) clash_a=1; shift 2 ;;
                    natb) clash_b=1; shift 2 ;;
                    *) clash_a=1; clash_b=1; shift ;;
                esac ;;
            --rtt)
                [[ "${2:-}" =~ ^[0-9]+$ ]] || die "--rtt must be a whole number of milliseconds"
                line_args[nata]="--delay $(( ${2} * 500 ))us ${line_args[nata]:-}"; shift 2 ;;
            --line)
                local spec="${2:-}" lhost
                lhost="${spec%%=*}"
                [[ "$spec" == *=* ]] && [[ " nata natb cli dev dev2 " == *" $lhost "* ]] \
                    || die "--line takes HOST=\"OPTIONS\" with HOST one of nata natb cli dev dev2"
                line_args[$lhost]="${line_args[$lhost]:-} ${spec#*=}"; shift 2 ;;
            --device-upnp) upnp=1; shift ;;
            --ipv6)
                case "${2:-}" in dual|only) ipv6="$2" ;; *) die "--ipv6 must be dual or only" ;; esac
                shift 2 ;;
            *) die "unknown option for up: $1" ;;
        esac
    done
    valid_nat "$client_nat" || die "--client-nat must be none, fullcone, cone or symmetric"
    valid_nat "$device_nat" || die "--device-nat must be none, fullcone, cone or symmetric"
    [[ "$loss" =~ ^[0-9]+$ ]] && [ "$loss" -le 100 ] || die "--loss must be 0...100 (percent)"
    [[ "$rate" =~ ^[0-9]+$ ]] || die "--rate must be a whole number of Mbit/s"
    [ "$(id -u)" = 0 ] || die "needs root (network namespaces)"
    for tool in ip nft python3 ethtool; do command -v "$tool" >/dev/null || die "$tool is missing (apt-get install iproute2 nftables python3 ethtool)"; done
    delayline_exe=""
    if [ ${#line_args[@]} -gt 0 ]; then
        delayline_exe="$(delayline_bin)"
        [ -x "$delayline_exe" ] || die "t2u-delayline not found (set T2U_DELAYLINE or T2U_BIN)"
        # Validate every line's options before building anything.
        for lhost in "${!line_args[@]}"; do
            local check_opts
            read -ra check_opts <<<"${line_args[$lhost]}"
            "$delayline_exe" --tap-a x --tap-b y "${check_opts[@]}" --check >/dev/null \
                || die "--line $lhost=\"${line_args[$lhost]# }\": not valid t2u-delayline options"
        done
    fi
    if [ "$upnp" = 1 ]; then
        [ "$device_nat" != none ] || die "--device-upnp needs a device NAT (not none)"
        command -v miniupnpd >/dev/null || die "miniupnpd is missing (apt-get install miniupnpd-nftables)"
    fi

    export T2U_LAB="${T2U_LAB:-t2u-$$-}"
    name="$T2U_LAB"  # global: the EXIT trap needs it
    for host in "${hosts[@]}"; do
        [ ! -e "/run/netns/${name}${host}" ] || die "lab $name exists already (lab.sh down first)"
    done
    mkdir -p "$state_root/$name"
    # Anything failing from here on removes what was built.
    trap 'exit 130' INT TERM
    trap 'status=$?; if [ $status -ne 0 ]; then echo "lab.sh: up failed, removing lab $name" >&2; lab_down "$name"; fi' EXIT
    for host in "${hosts[@]}"; do ip netns add "${name}${host}"; done

    sysctls inet 0
    make_bridge inet inet
    in_ns inet ip addr add 203.0.113.10/24 dev inet
    in_ns inet ip addr add 203.0.113.11/24 dev inet
    in_ns inet ip addr add 203.0.113.12/24 dev inet

    router nata 203.0.113.1 198.51.100.1/24 "$client_nat" "$clash_a"
    router natb 203.0.113.2 192.0.2.1/24 "$device_nat" "$clash_b"
    lan_host cli 198.51.100.10/24 198.51.100.1 nata
    lan_host dev 192.0.2.10/24 192.0.2.1 natb
    lan_host dev2 192.0.2.11/24 192.0.2.1 natb
    # Routers need no default gateway: the whole internet is one segment. A LAN without NAT is
    # routed: the internet and the other router learn its prefix.
    if [ "$client_nat" = none ]; then
        in_ns inet ip route add 198.51.100.0/24 via 203.0.113.1
        in_ns natb ip route add 198.51.100.0/24 via 203.0.113.1
    fi
    if [ "$device_nat" = none ]; then
        in_ns inet ip route add 192.0.2.0/24 via 203.0.113.2
        in_ns nata ip route add 192.0.2.0/24 via 203.0.113.2
    fi

    # Verify each NAT behaves as named before anything uses it (before impairments).
    local reflector_log="$state_root/$name/reflector.log" rpid port_line=""
    ip netns exec "${name}inet" timeout 60 python3 "$here/natprobe.py" reflect >"$reflector_log" 2>&1 &
    rpid=$!
    for _ in $(seq 1 50); do
        port_line="$(grep -m1 '^ready' "$reflector_log" 2>/dev/null || true)"
        [ -n "$port_line" ] && break
        sleep 0.1
    done
    [ -n "$port_line" ] || { kill "$rpid" 2>/dev/null || true; cat "$reflector_log" >&2; die "natprobe reflector did not start"; }
    local probe_ok=1 apid bpid
    in_ns cli timeout 30 python3 "$here/natprobe.py" probe --expect "$client_nat" --label "client NAT (nata)" &
    apid=$!
    in_ns dev timeout 30 python3 "$here/natprobe.py" probe --expect "$device_nat" --label "device NAT (natb)" &
    bpid=$!
    wait "$apid" || probe_ok=0
    wait "$bpid" || probe_ok=0
    kill "$rpid" 2>/dev/null || true
    wait "$rpid" 2>/dev/null || true
    [ "$probe_ok" = 1 ] || die "a NAT does not behave as named; not using this lab"

    impair "$loss" "$rate"
    [ "$upnp" = 0 ] || gateway_upnp natb 203.0.113.2 192.0.2.0/24
    [ "$ipv6" = none ] || ipv6_setup "$ipv6"
    printf 'client_nat=%s\ndevice_nat=%s\nloss=%s\nrate=%s\nclash=%s\nupnp=%s\nipv6=%s\n' \
        "$client_nat" "$device_nat" "$loss" "$rate" "$clash_a$clash_b" "$upnp" "$ipv6" >"$state_root/$name/config"
    for lhost in "${!line_args[@]}"; do echo "line_$lhost=${line_args[$lhost]# }" >>"$state_root/$name/config"; done
    trap - EXIT INT TERM
    echo "lab $name up: client NAT $client_nat, device NAT $device_nat$( [ "$upnp" = 1 ] && echo ' with miniupnpd'), loss ${loss}%, rate ${rate:-0} Mbit/s$( [ "$clash" = 1 ] && echo ", clashing routers (nata $clash_a, natb $clash_b)")$( [ "$ipv6" != none ] && echo ", IPv6 $ipv6 behind stateful firewalls")"
    for lhost in "${!line_args[@]}"; do echo "delay line on $lhost:${line_args[$lhost]}"; done
    echo "export T2U_LAB=$name"
}

cmd="${1:-}"
[ $# -gt 0 ] && shift
case "$cmd" in
    up) lab_up "$@" ;;
    down) lab_down "$(lab_name)" ;;
    exec)
        [ $# -ge 2 ] || die "usage: lab.sh exec HOST cmd..."
        host="$1"; shift
        [[ " ${hosts[*]} " == *" $host "* ]] || die "unknown host $host (one of: ${hosts[*]})"
        [ -e "/run/netns/$(ns "$host")" ] || die "lab $(lab_name) has no $host (lab.sh up first)"
        exec ip netns exec "$(ns "$host")" "$@"
        ;;
    flush)
        # Forget every NAT mapping of ROUTER (conntrack -F); the masquerade keeps its port range.
        [ $# -eq 1 ] || die "usage: lab.sh flush nata|natb"
        in_ns "$1" conntrack -F >/dev/null 2>&1 || die "conntrack -F failed in $1 (apt-get install conntrack)"
        ;;
    rebind)
        # A NAT reboot: mappings forgotten AND new ones on other ports (masquerade moves between
        # two disjoint port ranges), so every inside host's external port changes.
        [ $# -eq 1 ] || die "usage: lab.sh rebind nata|natb"
        router_ns="$1"
        listing="$(in_ns "$router_ns" nft -a list chain ip lab postrouting)"
        grep -q masquerade <<<"$listing" || die "$router_ns has no masquerade rule to rebind"
        range=":20000-29999"
        grep -q "to :20000-29999" <<<"$listing" && range=":30000-39999"
        flags=""
        grep -q "fully-random" <<<"$listing" && flags=" fully-random"
        # Drop the previous rebind's rule; the new one goes first (UDP and TCP; the original
        # masquerade still covers the rest).
        old_handle="$(sed -n 's/.*masquerade to :.*# handle \([0-9]*\)$/\1/p' <<<"$listing" | head -n1)"
        [ -z "$old_handle" ] || in_ns "$router_ns" nft delete rule ip lab postrouting handle "$old_handle"
        # shellcheck disable=SC2086
        in_ns "$router_ns" nft insert rule ip lab postrouting oifname "wan" meta l4proto '{ tcp, udp }' masquerade to "$range"$flags
        in_ns "$router_ns" conntrack -F >/dev/null 2>&1 || die "conntrack -F failed in $router_ns"
        echo "$router_ns: mappings flushed, masquerade now to $range$flags"
        ;;
    mappings)
        # One line per port miniupnpd forwards (its DNAT rules).
        [ $# -eq 1 ] || die "usage: lab.sh mappings natb"
        in_ns "$1" nft list chain inet miniupnpd prerouting_miniupnpd | grep dnat || true
        ;;
    status)
        name="$(lab_name)"
        cat "$state_root/$name/config" 2>/dev/null || echo "no config recorded for $name"
        ip netns list 2>/dev/null | grep -F "$name" || true
        ;;
    firewall6)
        # The IPv6 firewall's count of new inbound packets dropped on ROUTER's WAN (--ipv6).
        [ $# -eq 1 ] || die "usage: lab.sh firewall6 nata|natb"
        listing="$(in_ns "$1" nft list chain ip6 lab6 fwd_filter)"
        sed -n 's/.*ct state new counter packets \([0-9]*\) .*/\1/p' <<<"$listing"
        ;;
    -h|--help|help|"") usage ;;
    *) usage >&2; exit 2 ;;
esac
