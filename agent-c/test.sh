#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the t2u authors
# The C device agent's whole check, bounded (a few minutes): native build and unit tests, the
# interop test against the Swift t2u-server and client (native, ASan+UBSan, musl static; natively
# also with the Swift t2usvr as the agent, the same assertions), as root IPv6 discovery over
# multicast in namespaces (tests/discovery6.sh), idle RSS, as root the NAT grid
# with the C agent as the device, then cross builds for armhf, aarch64 and mipsel with the size
# budget and their unit and interop tests under qemu-user, and fully static armhf and mipsel builds
# (musl: the 1 MB budget; glibc: printed). Prints `RESULT cagent ...` lines; exits non-zero on any
# failure or exceeded budget.
#   agent-c/test.sh               T2U_BIN: the Swift binaries (t2u-server, t2u, t2usvr); default
#                                 /tmp/t2u-main-bin, or the release build of this checkout
#   CAGENT_SKIP_CROSS=1           skip the cross builds (no cross compilers / qemu-user)
#   CAGENT_NETLAB=0|1             skip the NAT grid / fail when it cannot run (default: as root)
#   CAGENT_GRID_CELLS=LIST        only these grid cells (Tests/netlab/grid.sh --cells)
set -euo pipefail
cd "$(dirname "$0")"
if [ -z "${T2U_BIN:-}" ]; then
    if [ -x /tmp/t2u-main-bin/t2u-server ]; then T2U_BIN=/tmp/t2u-main-bin
    else T2U_BIN="$(cd .. && swift build -c release -Xswiftc -enable-testing --show-bin-path)"; fi
fi
export T2U_BIN
SIZE_BUDGET=$((350 * 1024))   # stripped, dynamic against libc, crypto included (issue 12)
STATIC_BUDGET=$((1024 * 1024))
RSS_BUDGET_KB=2048

if [ ! -e /usr/include/sodium.h ]; then
    echo "agent-c/test.sh: libsodium-dev is not installed (apt-get install libsodium-dev; .ci/run does)" >&2
    exit 1
fi
if [ "${CI:-}" != "true" ] && ! command -v musl-gcc >/dev/null 2>&1; then
    echo "agent-c/test.sh: musl-gcc not installed (apt-get install musl-tools): musl build, RSS budget and cross builds skipped"
    export CAGENT_SKIP_MUSL=1 CAGENT_SKIP_CROSS=1
fi

make -s all test
# The same interop test against the C agent and against the Swift t2usvr (issue 12: the C agent's
# behaviour against the Swift agent's, on the same tests); a few checks run for the C agent only
# (tests/interop.sh says which and why).
AGENT_KIND=c tests/interop.sh build/t2usvr-c
echo "RESULT cagent interop agent=c build/t2usvr-c pass"
AGENT_KIND=swift tests/interop.sh "$T2U_BIN/t2usvr"
echo "RESULT cagent interop agent=swift $T2U_BIN/t2usvr pass"
# LAN discovery over IPv6 multicast, in two network namespaces (~3 s; skipped when not root).
tests/discovery6.sh build/t2usvr-c

make -s asan
T2U_PORT_BASE=47500 tests/interop.sh build-asan/t2usvr-c
tests/discovery6.sh build-asan/t2usvr-c

# Every parser fuzzed (libFuzzer + ASan/UBSan, the Swift toolchain's clang), seeded with real traffic.
FUZZ_SECONDS="${FUZZ_SECONDS:-15}" fuzz/run.sh

if [ "${CAGENT_SKIP_MUSL:-}" != "1" ]; then
    make -s CC=musl-gcc BUILD=build-musl all test STRIP=strip strip
    T2U_PORT_BASE=47600 tests/interop.sh build-musl/t2usvr-c
    musl_size=$(stat -c %s build-musl/t2usvr-c.stripped)
    echo "RESULT cagent size x86_64-musl-static stripped=${musl_size} budget=${STATIC_BUDGET}"
    [ "$musl_size" -le "$STATIC_BUDGET" ] || { echo "test.sh: static musl binary over budget" >&2; exit 1; }

    # Idle RSS of the registered agent (native glibc build, and the static musl build).
    idle_rss() { # BINARY PORT_BASE -> prints VmRSS in kB after registration
        local bin="$1" base="$2" dir pid srv rss
        dir="$(mktemp -d "${TMPDIR:-/tmp}/t2u-cagent-rss.XXXXXX")"
        "$T2U_BIN/t2u-server" --port "$base" --bind 127.0.0.1 --key-file "$dir/k" >"$dir/s.log" 2>&1 &
        srv=$!
        sleep 1
        "$bin" CAM-RSS 127.0.0.1 "$base" --no-discovery >"$dir/a.log" 2>&1 &
        pid=$!
        for _ in $(seq 1 50); do grep -q "registered with" "$dir/a.log" && break; sleep 0.2; done
        sleep 1
        rss=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status")
        kill "$pid" "$srv"; wait "$pid" "$srv" 2>/dev/null || true
        grep -q "registered with" "$dir/a.log" || { rm -rf "$dir"; echo "test.sh: RSS agent did not register" >&2; return 1; }
        rm -rf "$dir"
        echo "$rss"
    }
    # The budget applies to the static musl build (what a camera runs: its RSS is all its own). The
    # glibc build's RSS is mostly libc.so.6 and libsodium.so pages shared with every other process:
    # printed for information only.
    rss=$(idle_rss build-musl/t2usvr-c 47700)
    echo "RESULT cagent idle_rss x86_64-musl-static kB=${rss} budget=${RSS_BUDGET_KB}"
    [ "$rss" -le "$RSS_BUDGET_KB" ] || { echo "test.sh: idle RSS over budget" >&2; exit 1; }
    rss=$(idle_rss build/t2usvr-c 47700)
    echo "RESULT cagent idle_rss x86_64-glibc-dynamic kB=${rss} (shared libc.so/libsodium.so pages included; no budget)"

    # 8 parallel streams at full speed (loopback, direct path), beside the Swift agent: peak RSS
    # <= 6 MB (issue 12's budget), and CPU per GB no worse than the Swift agent's. Single runs
    # move by 10-20 % on this shared 2-core machine, so each agent's best of three runs counts
    # (with UDP GSO the C agent measured 2.8-3.2 s per GB against the Swift agent's 6.5-7.5).
    c_best="" swift_best=""
    for run in 1 2 3; do
        bench_log="$(mktemp)"
        STREAMS=8 MB=16 tests/bench.sh build-musl/t2usvr-c | tee "$bench_log"
        c_rss=$(sed -n 's/.*agent=c .*peak_rss_kB=\([0-9]*\).*/\1/p' "$bench_log")
        c_cpu=$(sed -n 's/.*agent=c .*cpu_s_per_GB=\([0-9.]*\).*/\1/p' "$bench_log")
        swift_cpu=$(sed -n 's/.*agent=swift .*cpu_s_per_GB=\([0-9.]*\).*/\1/p' "$bench_log")
        rm -f "$bench_log"
        [ -n "$c_rss" ] && [ "$c_rss" -le 6144 ] || { echo "test.sh: RSS with 8 streams over 6 MB (${c_rss:-none} kB)" >&2; exit 1; }
        [ -n "$c_cpu" ] && [ -n "$swift_cpu" ] || { echo "test.sh: bench.sh printed no CPU figure for one of the agents (run $run)" >&2; exit 1; }
        c_best=$(awk -v a="${c_best:-$c_cpu}" -v b="$c_cpu" 'BEGIN { print (b < a ? b : a) }')
        swift_best=$(awk -v a="${swift_best:-$swift_cpu}" -v b="$swift_cpu" 'BEGIN { print (b < a ? b : a) }')
    done
    echo "RESULT cagent cpu_s_per_GB c=${c_best} swift=${swift_best} (best of 3 runs each; budget: c <= swift)"
    if awk -v c="$c_best" -v s="$swift_best" 'BEGIN { exit !(c > s) }'; then
        echo "test.sh: CPU per GB of the C agent ${c_best} s over the Swift agent's ${swift_best} s" >&2
        exit 1
    fi
fi

# The NAT grid with the C agent as the device (Tests/netlab/grid.sh in network namespaces; all 21
# cells with the clashing routers, about 9 minutes, killed after 15), then path migration with the Swift client (direct ->
# relay -> direct mid-transfer, tests/migration.sh, ~30 s): as root (CI) with the lab's tools,
# asserting what the grid asserts of the Swift agent. CAGENT_NETLAB=0 skips them; CAGENT_NETLAB=1
# fails when they cannot run; CAGENT_GRID_CELLS=LIST runs only those cells (grid.sh --cells).
netlab_skip=""
if [ "${CAGENT_NETLAB:-}" = 0 ]; then netlab_skip="CAGENT_NETLAB=0"
elif [ "$(id -u)" != 0 ]; then netlab_skip="not root (network namespaces; CI runs as root)"
else
    for tool in ip nft ethtool conntrack python3 timeout; do
        command -v "$tool" >/dev/null 2>&1 || netlab_skip="$tool missing (.ci/run installs the lab's tools)"
    done
fi
if [ -z "$netlab_skip" ]; then
    grid_started=$SECONDS
    timeout --kill-after=30 900 tests/netlab-grid.sh build/t2usvr-c ${CAGENT_GRID_CELLS:+--cells "$CAGENT_GRID_CELLS"} ||
        { echo "test.sh: the NAT grid with the C agent failed (or ran over 15 minutes)" >&2; exit 1; }
    echo "RESULT cagent netlab grid=pass seconds=$((SECONDS - grid_started))"
    timeout --kill-after=30 180 tests/migration.sh build/t2usvr-c ||
        { echo "test.sh: path migration with the C agent failed (or ran over 3 minutes)" >&2; exit 1; }
elif [ "${CAGENT_NETLAB:-}" = 1 ]; then
    echo "test.sh: CAGENT_NETLAB=1 but the NAT grid cannot run: $netlab_skip" >&2
    exit 1
else
    echo "test.sh: NAT grid with the C agent skipped: $netlab_skip"
fi

if [ "${CAGENT_SKIP_CROSS:-}" = "1" ]; then
    echo "test.sh: cross builds skipped (CAGENT_SKIP_CROSS=1)"
    exit 0
fi
# Cross builds: libsodium linked statically (only what the agent uses), libc dynamically.
# Fully static builds (issue 12: <= 1 MB) for the camera targets, armhf and mipsel, against the
# Debian cross libcs with the multiarch libsodium.a: musl (musl-dev:ARCH, through its gcc specs
# file as musl-gcc does it) carries the budget; glibc's static build is printed for information
# (its libc.a brings stdio, NSS with a static dlopen and iconv: about 0.5 MB on armhf, 0.85 MB on
# mipsel, which alone puts mipsel over 1 MB), and getaddrinfo in it needs the glibc of the build
# at run time to resolve names (numeric server addresses work).
static_build() { # ARCH QEMU TRIPLET LIBC(musl|glibc) MUSL_TRIPLET
    local arch="$1" qemu="$2" triplet="$3" libc="$4" musl="$5" build="build-$1-$4-static" size
    local args=(CROSS="$triplet-" BUILD="$build" SODIUM_LIBS="/usr/lib/$triplet/libsodium.a" TEST_RUNNER="qemu-$qemu")
    if [ "$libc" = musl ]; then
        args+=(CC="$triplet-gcc -specs /usr/lib/$musl/musl-gcc.specs")
    else
        args+=(LDFLAGS="-Wl,--gc-sections -static")
    fi
    # (glibc's linker warns that a static getaddrinfo needs glibc's NSS modules at run time: said above.)
    make -s "${args[@]}" all strip test 2> >(grep -v "statically linked applications requires at runtime\|: in function .resolve_host" >&2)
    size=$(stat -c %s "$build/t2usvr-c.stripped")
    if [ "$libc" = musl ]; then
        echo "RESULT cagent size $arch-musl-static stripped=${size} budget=${STATIC_BUDGET}"
        [ "$size" -le "$STATIC_BUDGET" ] || { echo "test.sh: $arch static musl binary over budget" >&2; return 1; }
        CAGENT_BYTES=1000000 AGENT_RUNNER="qemu-$qemu" T2U_PORT_BASE=47800 tests/interop.sh "$build/t2usvr-c"
        echo "RESULT cagent qemu $arch-musl-static unit+cli+interop=pass"
    else
        echo "RESULT cagent size $arch-glibc-static stripped=${size} (information: the budget is the musl build's)"
        echo "RESULT cagent qemu $arch-glibc-static unit+cli=pass"
    fi
}
for spec in arm-linux-gnueabihf:arm:armhf:arm-linux-musleabihf aarch64-linux-gnu:aarch64:arm64: mipsel-linux-gnu:mipsel:mipsel:mipsel-linux-musl; do
    IFS=: read -r triplet qemu arch musl <<<"$spec"
    build="build-$arch"
    make -s CROSS="$triplet-" BUILD="$build" SODIUM_LIBS="/usr/lib/$triplet/libsodium.a" all strip
    size=$(stat -c %s "$build/t2usvr-c.stripped")
    echo "RESULT cagent size $arch-dynamic stripped=${size} budget=${SIZE_BUDGET}"
    if [ "$arch" != arm64 ] && [ "$size" -gt "$SIZE_BUDGET" ]; then
        echo "test.sh: $arch binary over the size budget" >&2
        exit 1
    fi
    # The cross toolchain's own libc (its ld.so with the libc it was built with).
    runner="qemu-$qemu -L /usr/$triplet -E LD_LIBRARY_PATH=/usr/$triplet/lib"
    make -s CROSS="$triplet-" BUILD="$build" SODIUM_LIBS="/usr/lib/$triplet/libsodium.a" test TEST_RUNNER="$runner"
    CAGENT_BYTES=1000000 AGENT_RUNNER="$runner" T2U_PORT_BASE=47800 tests/interop.sh "$build/t2usvr-c"
    echo "RESULT cagent qemu $arch unit+interop=pass"
    [ -n "$musl" ] || continue
    if [ -e "/usr/lib/$musl/musl-gcc.specs" ]; then
        static_build "$arch" "$qemu" "$triplet" musl "$musl"
    elif [ "${CI:-}" = true ]; then
        echo "test.sh: musl-dev:$arch is not installed (.ci/run installs it): no static $arch build" >&2
        exit 1
    else
        echo "test.sh: musl-dev:$arch not installed (apt-get install musl-dev:$arch): static musl $arch build skipped"
    fi
    static_build "$arch" "$qemu" "$triplet" glibc ""
done
echo "agent-c/test.sh: PASS"
