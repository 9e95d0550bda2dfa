#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the t2u authors
# The packages end to end on a clean Debian 12: scripts/package.sh builds the .deb files from the
# release binaries already built; they are installed with `dpkg -i` into a fresh minbase root
# (debootstrap, made once and kept as a tarball: T2U_ROOTFS_CACHE), so dpkg checks their
# dependencies against a system that has no Swift toolchain; `systemd-analyze verify` checks the
# installed units; then, inside that root (chroot, as nobody), the installed t2u-server (packaged
# config, --admin on loopback), t2usvr and t2u move and verify 1 MB through a mapped port, and
# Examples/c/flow.c, compiled against the installed t2u.h and t2u.pc, does the manual's flow
# through the installed libt2u.so. Last, the Grafana dashboard's queries are checked against that
# server's /metrics (Tests/packaging/check-dashboard.py).
# Where a docker daemon answers, packaging/docker/Dockerfile is built from the same packages.
# Root only (chroot, mounts): skips saying so otherwise, fails under CI. Loopback only. Every
# process it started is killed by PID and the root removed, also on failure or interrupt; the
# /proc of each chrooted process lives in that process's own mount namespace (nothing to unmount).
# Usage: Tests/packaging/run.sh   (T2U_BIN or T2U_SWIFT_BUILD_FLAGS as for scripts/package.sh)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
if [ "$(id -u)" -ne 0 ]; then
    [ "${CI:-}" != "true" ] || fail "Tests/packaging needs root (chroot) under CI"
    echo "SKIP: Tests/packaging needs root (chroot into a clean Debian root)"
    exit 0
fi
for tool in debootstrap:debootstrap unshare:util-linux systemd-analyze:systemd pkg-config:pkg-config cc:gcc patchelf:patchelf; do
    command -v "${tool%%:*}" >/dev/null || fail "${tool%%:*} is missing (apt-get install ${tool#*:})"
done
START=$SECONDS
WORK="$(mktemp -d "${TMPDIR:-/tmp}/t2u-packaging.XXXXXX")"
R="$WORK/root"
PIDS=()
cleanup() {
    local status=$?
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    if [ "$status" -ne 0 ]; then
        for log in "$R"/work/*.log "$WORK"/*.log; do [ -e "$log" ] && { echo "--- $log"; tail -n 30 "$log"; }; done
    fi
    # No mount points below $R (see above); --one-file-system guards the host all the same.
    rm -rf --one-file-system "$WORK"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
step() { echo "[$((SECONDS - START))s] $*"; }

# "${IN_ROOT[@]}" CMD...: CMD inside the clean root, with its own /proc in a private mount
# namespace. Arrays, not functions: unshare, sh, chroot, setpriv and env all exec, so $! of
# `"${AS_NOBODY[@]}" CMD &` is CMD's own PID (a function in the background would be a subshell).
IN_ROOT=(unshare --mount --propagation private sh -c 'mount -t proc proc "$0/proc" && exec chroot "$0" "$@"' "$R")
# The same as an unprivileged user (as the units' DynamicUser would be).
AS_NOBODY=("${IN_ROOT[@]}" setpriv --reuid=65534 --regid=65534 --clear-groups)
in_root() { "${IN_ROOT[@]}" "$@"; }
as_nobody() { "${AS_NOBODY[@]}" "$@"; }

# --- the clean root ---
CACHE="${T2U_ROOTFS_CACHE:-/var/cache/t2u/debian-bookworm-minbase.tar}"
if [ ! -s "$CACHE" ]; then
    step "making the clean root once (debootstrap --variant=minbase bookworm, a few minutes) -> $CACHE"
    mkdir -p "$(dirname "$CACHE")" "$WORK/bootstrap"
    timeout 900 debootstrap --variant=minbase bookworm "$WORK/bootstrap" "${T2U_DEBIAN_MIRROR:-http://deb.debian.org/debian}" \
        >"$WORK/debootstrap.log" 2>&1 || fail "debootstrap (see $WORK/debootstrap.log above)"
    tar --numeric-owner -C "$WORK/bootstrap" -cf "$CACHE.tmp.$$" . && mv "$CACHE.tmp.$$" "$CACHE"
    rm -rf --one-file-system "$WORK/bootstrap"
fi
mkdir "$R"
tar --numeric-owner -xf "$CACHE" -C "$R"
[ "$(sed -n 's/^VERSION_ID="\(.*\)"/\1/p' "$R/etc/os-release")" = 12 ] || fail "$CACHE is not Debian 12"
in_root sh -c '! command -v swift && ! ls /usr/lib/*/libswiftCore.so' >/dev/null 2>&1 || fail "the clean root has a Swift runtime"
step "clean Debian 12 root unpacked from $CACHE ($(du -sm "$R" | cut -f1) MB, no Swift)"

# --- build and install ---
scripts/package.sh "$WORK/debs" >"$WORK/debs.txt"
[ "$(wc -l <"$WORK/debs.txt")" -eq 6 ] || fail "expected 6 packages, got: $(cat "$WORK/debs.txt")"
for deb in "$WORK"/debs/*.deb; do
    printf '  %-58s %6s KB installed  Depends: %s\n' "$(basename "$deb")" "$(dpkg-deb -f "$deb" Installed-Size)" "$(dpkg-deb -f "$deb" Depends)"
done
step "6 packages built"
mkdir "$R/debs" "$R/work"
cp "$WORK"/debs/*.deb "$R/debs/"
in_root sh -c 'dpkg -i /debs/*.deb' >"$WORK/dpkg.log" 2>&1 || { cat "$WORK/dpkg.log"; fail "dpkg -i in the clean root"; }
grep -E '^(Setting up|Processing triggers)' "$WORK/dpkg.log" | sed 's/^/  /'
for package in t2u-swift-runtime t2u-server t2u-agent t2u libt2u libt2u-dev; do
    [ "$(in_root dpkg-query -W -f '${Status}' "$package")" = "install ok installed" ] || fail "$package not installed"
done
in_root dpkg --audit >"$WORK/audit.log" 2>&1 && [ ! -s "$WORK/audit.log" ] || { cat "$WORK/audit.log"; fail "dpkg --audit"; }
step "dpkg -i: all 6 installed in the clean root, dependencies met, dpkg --audit clean"

MULTIARCH="$(in_root dpkg-query -L libt2u | sed -n 's|^/usr/lib/\([^/]*\)/libt2u.so$|\1|p')"
[ -n "$MULTIARCH" ] || fail "libt2u.so not under /usr/lib/<multiarch>"
for file in /usr/bin/t2u-server /usr/bin/t2usvr /usr/bin/t2u /lib/systemd/system/t2u-server.service /lib/systemd/system/t2usvr.service \
    /etc/t2u/t2u-server.conf /etc/default/t2usvr /usr/share/t2u-agent/openwrt/t2usvr.init /usr/include/t2u.h \
    "/usr/lib/$MULTIARCH/pkgconfig/t2u.pc" /usr/share/man/man1/t2u.1.gz /usr/share/man/man1/t2u-server.1.gz /usr/share/man/man1/t2usvr.1.gz \
    /usr/share/bash-completion/completions/t2u /usr/share/zsh/vendor-completions/_t2usvr /usr/share/fish/vendor_completions.d/t2u-server.fish \
    /usr/share/doc/libt2u/copyright /usr/share/doc/t2u-swift-runtime/copyright; do
    [ -s "$R$file" ] || fail "missing $file"
done
# Every ELF file resolves every library inside the root: the Swift runtime from the package's
# private directory, the rest from Debian.
for elf in /usr/bin/t2u-server /usr/bin/t2usvr /usr/bin/t2u "/usr/lib/$MULTIARCH/libt2u.so"; do
    in_root ldd "$elf" >"$WORK/ldd.log" 2>&1 || { cat "$WORK/ldd.log"; fail "ldd $elf"; }
    ! grep -q 'not found' "$WORK/ldd.log" || { cat "$WORK/ldd.log"; fail "$elf: a library is missing in the clean root"; }
    grep -q "libswiftCore.so => .*/lib/$MULTIARCH/t2u/libswiftCore.so" "$WORK/ldd.log" || { cat "$WORK/ldd.log"; fail "$elf: Swift runtime not from t2u-swift-runtime"; }
done
VERSION="$(scripts/version.sh)"
for binary in t2u-server t2usvr t2u; do
    [ "$(in_root "$binary" --version)" = "$VERSION" ] || fail "installed $binary --version: $(in_root "$binary" --version)"
done
in_root sh -n /usr/share/t2u-agent/openwrt/t2usvr.init || fail "procd script syntax"
in_root bash -n /usr/share/bash-completion/completions/t2u || fail "bash completion syntax"
grep -q '^\.SH SYNOPSIS' <<<"$(gzip -dc "$R/usr/share/man/man1/t2usvr.1.gz")" || fail "t2usvr man page"
step "files in place; all libraries resolve in the root; --version $VERSION on the installed programs"

# --- the units: systemd's checker on the installed units (paths moved into the root, since the
# minbase root has no systemd of its own for the default dependencies) ---
mkdir "$WORK/units"
for unit in t2u-server t2usvr; do
    sed -e "s|/usr/bin/|$R/usr/bin/|g" -e "s|/etc/|$R/etc/|g" "$R/lib/systemd/system/$unit.service" >"$WORK/units/$unit.service"
    systemd-analyze verify --man=no "$WORK/units/$unit.service" >"$WORK/verify-$unit.log" 2>&1 \
        || { cat "$WORK/verify-$unit.log" >&2; fail "systemd-analyze verify $unit.service"; }
    [ ! -s "$WORK/verify-$unit.log" ] || { cat "$WORK/verify-$unit.log" >&2; fail "systemd-analyze verify $unit.service warned"; }
    echo "  $unit.service: $(systemd-analyze security --offline=yes "$WORK/units/$unit.service" 2>/dev/null | tail -1 | sed 's/^→ //')"
done
step "systemd-analyze verify: t2u-server.service, t2usvr.service"

# --- the demo, inside the root, with the installed files only ---
# Free loopback ports: two consecutive UDP ports for the server (main, observation) and one TCP
# port for --admin.
read -r PORT ADMIN < <(python3 - <<'PY'
import socket
for base in range(42000, 42400, 2):
    try:
        socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(2)] + [socket.socket()]
        socks[0].bind(("127.0.0.1", base)); socks[1].bind(("127.0.0.1", base + 1)); socks[2].bind(("127.0.0.1", 0))
        print(base, socks[2].getsockname()[1]); break
    except OSError:
        pass
    finally:
        for s in socks: s.close()
PY
)
[ -n "${PORT:-}" ] && [ -n "${ADMIN:-}" ] || fail "no free loopback ports"
# The state directories the units' StateDirectory= would make, owned by the unprivileged user.
install -d -m 0700 -o 65534 -g 65534 "$R/var/lib/t2u-server" "$R/var/lib/t2usvr"
chown 65534:65534 "$R/work"
CONF=(--config /etc/t2u/t2u-server.conf --port "$PORT" --bind 127.0.0.1 --admin "127.0.0.1:$ADMIN")
as_nobody t2u-server --check-config /etc/t2u/t2u-server.conf "${CONF[@]:2}" >/dev/null || fail "the packaged config does not check"
KEY="$(as_nobody t2u-server "${CONF[@]}" --print-public-key)"
"${AS_NOBODY[@]}" t2u-server "${CONF[@]}" >"$R/work/server.log" 2>&1 &
PIDS+=($!)
"${AS_NOBODY[@]}" t2u check --echo --echo-port 0 >"$R/work/echo.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do grep -q "echo listening" "$R/work/echo.log" && break; sleep 0.1; done
ECHO_PORT="$(sed -n 's/^echo listening //p' "$R/work/echo.log")"
[ -n "$ECHO_PORT" ] || fail "echo service did not start"
DEV="pkg-demo-$$"
"${AS_NOBODY[@]}" env T2U_SERVER_KEY="$KEY" t2usvr --state /var/lib/t2usvr/device.key --no-discovery "$DEV" 127.0.0.1 "$PORT" >"$R/work/agent.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do grep -q "registered with the server" "$R/work/agent.log" && break; sleep 0.1; done
grep -q "registered with the server" "$R/work/agent.log" || fail "the installed t2usvr did not register with the installed t2u-server"
for pid in "${PIDS[@]}"; do
    case "$(readlink "/proc/$pid/exe")" in "$R"/usr/bin/t2u*) ;; *) fail "PID $pid is $(readlink "/proc/$pid/exe"), not an installed t2u program" ;; esac
done
step "installed t2u-server (udp 127.0.0.1:$PORT, admin $ADMIN), t2usvr ($DEV) and an echo service running as nobody in the root"
CLIENT=(env T2U_KNOWN_DEVICES=/work/known_devices)
as_nobody "${CLIENT[@]}" t2u status --server "127.0.0.1:$PORT" --key "$KEY" --json | tee "$WORK/status.json" | sed 's/^/  /'
grep -q '"status":"connected"' "$WORK/status.json" || fail "t2u status against the installed server"
as_nobody "${CLIENT[@]}" t2u check "$DEV" "$ECHO_PORT" --server "127.0.0.1:$PORT" --key "$KEY" --bytes 1M --timeout 30 2>&1 | tee "$WORK/check.txt" | sed 's/^/  /'
grep -q "^CHECK ok=1" "$WORK/check.txt" || fail "t2u check through the installed server and agent"
step "installed t2u: 1 MB echoed and verified through a mapped port"

# libt2u-dev + libt2u: flow.c built with the root's t2u.h and t2u.pc only (the root has no
# compiler: cc runs here, against the root as sysroot), then run inside the root.
PCDIR="$R/usr/lib/$MULTIARCH/pkgconfig"
PKG_FLAGS="$(PKG_CONFIG_SYSROOT_DIR="$R" PKG_CONFIG_LIBDIR="$PCDIR" pkg-config --cflags --libs t2u)"
echo "  pkg-config --cflags --libs t2u: ${PKG_FLAGS//$R/<root>}"
# shellcheck disable=SC2086  # the flags, split as a shell would
cc -Wall -Werror -o "$R/work/flow" Examples/c/flow.c $PKG_FLAGS -Wl,-rpath-link,"$R/usr/lib/$MULTIARCH/t2u" \
    || fail "flow.c does not build against the installed libt2u-dev"
cat >"$WORK/version.c" <<'C'
#include <stdio.h>
#include <t2u.h>
int main(void) { printf("%s\n", t2u_version()); return 0; }
C
# shellcheck disable=SC2086
cc -Wall -Werror -o "$R/work/version" "$WORK/version.c" $PKG_FLAGS -Wl,-rpath-link,"$R/usr/lib/$MULTIARCH/t2u" || fail "version.c"
[ "$(in_root /work/version)" = "$VERSION" ] || fail "installed libt2u t2u_version(): $(in_root /work/version)"
as_nobody timeout 60 env T2U_KNOWN_DEVICES=/work/known_devices /work/flow "$DEV" 127.0.0.1 "$PORT" "$ECHO_PORT" "$KEY" \
    >"$WORK/flow.log" 2>&1 || { cat "$WORK/flow.log"; fail "flow.c through the installed libt2u"; }
sed 's/^/  /' "$WORK/flow.log"
grep -q "^received .*hello through t2u" "$WORK/flow.log" || fail "flow.c got no echo"
step "flow.c against the installed libt2u: echoed through the installed server and agent; t2u_version() $VERSION"

# --- the Grafana dashboard: every metric it queries is on the installed server's /metrics ---
python3 - "$ADMIN" >"$WORK/metrics.txt" <<'PY' || fail "GET /metrics on the installed server's --admin"
import sys, urllib.request
print(urllib.request.urlopen("http://127.0.0.1:%s/metrics" % sys.argv[1], timeout=10).read().decode())
PY
python3 Tests/packaging/check-dashboard.py packaging/grafana/t2u-server.json "$WORK/metrics.txt" >"$WORK/dashboard.log" 2>&1 \
    || { cat "$WORK/dashboard.log"; fail "packaging/grafana/t2u-server.json queries what the server does not export"; }
sed 's/^/  /' "$WORK/dashboard.log"
# The check itself: a dashboard with one metric misspelt must fail it.
sed 's/t2u_server_relay_bytes_total/t2u_server_relay_byte_total/' packaging/grafana/t2u-server.json >"$WORK/misspelt.json"
! python3 Tests/packaging/check-dashboard.py "$WORK/misspelt.json" "$WORK/metrics.txt" >/dev/null 2>&1 || fail "check-dashboard.py passed a misspelt metric"
step "Grafana dashboard: its queries match the installed server's /metrics"
# --- the container image: packaging/docker/Dockerfile built from the same .deb files, its
# t2u-server run once for --version. Only where a docker daemon answers (nothing is installed
# for it); the image is removed again. ---
if ! command -v docker >/dev/null 2>&1; then
    echo "SKIP: packaging/docker/Dockerfile not built: no docker command"
elif ! timeout 20 docker info >/dev/null 2>&1; then
    echo "SKIP: packaging/docker/Dockerfile not built: docker is installed but its daemon does not answer (docker info)"
else
    IMAGE="t2u-server-test:$$"
    timeout 900 docker build -q -f packaging/docker/Dockerfile -t "$IMAGE" "$WORK/debs" >"$WORK/docker-build.log" 2>&1 \
        || { cat "$WORK/docker-build.log"; fail "docker build -f packaging/docker/Dockerfile"; }
    image_version="$(timeout 60 docker run --rm --entrypoint /usr/bin/t2u-server "$IMAGE" --version 2>&1)" || image_version="(failed: $image_version)"
    docker rmi -f "$IMAGE" >/dev/null 2>&1 || true
    [ "$image_version" = "$VERSION" ] || fail "t2u-server --version in the image: $image_version"
    step "docker build -f packaging/docker/Dockerfile: the image's t2u-server reports $VERSION"
fi
echo "Tests/packaging: all checks passed in $((SECONDS - START)) s"
